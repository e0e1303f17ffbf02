"""`emergelab analyze` on a stored run and on a user's CSV."""

import numpy as np
import pandas as pd

from tests.unit.test_analysis import _slowing_then_jump


def test_analyze_csv(run_cli, tmp_path):
    steps, y = _slowing_then_jump()
    f = tmp_path / "log.csv"
    pd.DataFrame({"epoch": steps, "loss": y}).to_csv(f, index=False)
    rc, out, err = run_cli("analyze", "--csv", str(f), "--column", "loss", "--time", "epoch",
                           "-o", str(tmp_path / "ews.csv"))
    assert rc == 0, err
    assert "warning" in out and "ac1" in out
    t = pd.read_csv(tmp_path / "ews.csv")
    assert set(t["indicator"]) == {"var", "ac1"} and t["flagged"].all()


def test_analyze_csv_bad_input(run_cli, tmp_path):
    f = tmp_path / "log.csv"
    pd.DataFrame({"epoch": np.arange(60), "loss": np.r_[np.zeros(30), np.nan, np.ones(29)], "flat": np.ones(60),
                  "word": ["a"] * 60}).to_csv(f, index=False)
    short = tmp_path / "short.csv"
    pd.DataFrame({"short": np.arange(12.0) % 3}).to_csv(short, index=False)
    for args, msg in [
        (["analyze", "--csv", str(f), "--column", "los"], "no column 'los'"),
        (["analyze", "--csv", str(f), "--column", "loss"], "column 'loss' has 1 empty, NaN or inf value(s), the first at row 32"),
        (["analyze", "--csv", str(f)], "needs --column"),
        (["analyze", "--csv", str(tmp_path / "nope.csv"), "-c", "x"], "no such file"),
        (["analyze"], "give a RUN id or --csv"),
        (["analyze", "somerun", "--csv", str(f)], "one of the two"),
        (["analyze", "--csv", str(f), "-c", "epoch", "--detrend", "wavelet"], "wavelet"),
        (["analyze", "--csv", str(f), "-c", "flat"], "is constant"),
        (["analyze", "--csv", str(short), "-c", "short"], "too short for EWS"),
        (["analyze", "--csv", str(f), "-c", "word"], "non-numeric"),
        (["analyze", "--csv", str(f), "-c", "epoch", "--window", "1.5"], "window must be a fraction"),
    ]:
        rc, out, err = run_cli(*args)
        assert rc == 2 and msg in err and len(err.strip().splitlines()) == 1, (args, err)


def test_analyze_run_stores_results_and_reports(run_cli, tmp_path):
    rc, out, err = run_cli("run", "toy", "-p", "quick", "-s", "steps=400", "-s", "jump_at=300", "-x", "serial")
    assert rc == 0, err
    rid = out.split("toy-")[1].split()[0]
    rc, out, err = run_cli("analyze", f"toy-{rid}", "--metric", "toy/y", "--surrogates", "50")
    assert rc == 0, err
    assert "toy/y" in out and "stored with the run" in out
    import emergelab

    st = emergelab.open_store(str(tmp_path / "store"))
    summ = st.run_meta(f"toy-{rid}")["summary"]
    assert summ["ews"][0]["metric"] == "toy/y" and summ["ews_transition"] is True
    rc, out, err = run_cli("report", f"toy-{rid}", "-o", str(tmp_path / "r.html"))
    html = (tmp_path / "r.html").read_text()
    assert rc == 0 and "Early warnings" in html and "Kendall" in html


def test_sweep_report_has_detection_and_false_alarm_rates(run_cli, tmp_path):
    rc, out, err = run_cli("sweep", "critical_transition", "-p", "quick", "-g", "system=fold,null", "-n", "2",
                           "-x", "serial", "-o", str(tmp_path / "s.html"))
    assert rc == 0, err
    html = (tmp_path / "s.html").read_text()
    assert "Early warnings across runs" in html and "false-alarm rate" in html
    import emergelab

    runs = emergelab.open_store(str(tmp_path / "store")).runs()
    by = runs.groupby("config.system")["summary.ews_transition"].apply(list).to_dict()
    assert by == {"fold": [True, True], "null": [False, False]}  # the lab ran EWS after every run


def test_cli_bandwidth_default_is_the_library_default():
    """--bandwidth means the ksmooth/ewstools unit everywhere: the CLI default is the library's."""
    import inspect

    from emergelab.cli.analyze import analyze
    from emergelab.measures.analysis import EWSSettings

    assert inspect.signature(analyze).parameters["bandwidth"].default.default == EWSSettings().bandwidth


def test_sensitivity_grid_is_stored_and_drawn(run_cli, tmp_path):
    """analyze stores tau over window x bandwidth for each tested stretch; the report draws it."""
    import pandas as pd

    import emergelab

    rc, out, err = run_cli("run", "toy", "-p", "quick", "-s", "steps=400", "-s", "jump_at=300", "-x", "serial")
    rid = "toy-" + out.split("toy-")[1].split()[0]
    rc, out, err = run_cli("analyze", rid, "--metric", "toy/y", "--surrogates", "20")
    assert rc == 0, err
    st = emergelab.open_store(str(tmp_path / "store"))
    sens = pd.read_parquet(st.artefact_path(rid, "ews_sensitivity"))
    assert len(sens) == 20 and set(sens["metric"]) == {"toy/y"} and sens["tau"].between(-1, 1).all()
    assert sens["tau"].nunique() > 1  # the grid is computed, not one value copied
    rc, out, err = run_cli("report", rid, "-o", str(tmp_path / "r.html"))
    assert rc == 0 and "rolling window × detrending bandwidth" in (tmp_path / "r.html").read_text()
