"""TensorBoard event files -> scalars, without TensorFlow.

An event file is a TFRecord stream: per record an 8-byte little-endian length, a 4-byte
masked CRC32C of that length, the serialized `Event` protobuf, a 4-byte CRC of the data.
TensorBoard's own readers (EventAccumulator, EventFileLoader) frame each record in Python
and run a pure-Python CRC over every byte (tensorboard has no native CRC without
TensorFlow): ~15 µs a record before any decoding, 15 s for a million scalars. Here the
framing is a tight offset walk over the file in memory, the CRC is checked on the first
record only (it is what tells an event file from any other file), and each Event is
decoded by tensorboard's own protobuf classes (upb, in C). A corrupt record therefore
fails to decode (or to chain to the end of the file) rather than fail a CRC.

Scalars are `simple_value` summaries (torch's SummaryWriter.add_scalar, tf1) and 0-d
numeric tensors of the `scalars` plugin (tf2 `tf.summary.scalar`). Every folder holding
event files is one run, named by its path under the folder given (as TensorBoard does);
several files in one folder (a restarted job) are read in name order, which is time order.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from emergelab.errors import UserError

_HEADER = struct.Struct("<QI")  # length, masked crc32c of the length


def is_event_file(p: Path) -> bool:
    return p.is_file() and "tfevents" in p.name


def event_files(root: Path) -> dict[str, list[Path]]:
    """{run name: event files in name order}; the run of `root` itself is named ''."""
    if root.is_file():
        return {"": [root]}
    runs: dict[str, list[Path]] = {}
    for f in sorted(root.rglob("*tfevents*")):
        if f.is_file():
            rel = f.parent.relative_to(root).as_posix()
            runs.setdefault("" if rel == "." else rel, []).append(f)
    if not runs:
        raise UserError(f"no TensorBoard event files (events.out.tfevents.*) under {root}: point at the "
                        "folder your SummaryWriter wrote (its log_dir)")  # fmt: skip
    return runs


def _records(buf: bytes, path: Path, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, lengths) of the records' data. A last record cut short (a job killed
    mid-write) is dropped with a note, as TensorBoard drops it."""
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

    n = len(buf)
    if n < _HEADER.size or masked_crc32c(buf[:8]) != _HEADER.unpack_from(buf, 0)[1]:
        raise UserError(f"{path} is not a TensorBoard event file (its first record's checksum does not "
                        "match): point at files named events.out.tfevents.*")  # fmt: skip
    starts: list[int] = []
    off, unpack = 0, _HEADER.unpack_from
    # one pass of cheap integer work per record: the records' lengths chain the file, so
    # the walk is inherently sequential (no array op can find record k before record k-1)
    while off + 12 <= n:
        nxt = off + 16 + unpack(buf, off)[0]
        if nxt > n:
            break
        starts.append(off)
        off = nxt
    if off != n:
        notes.append(f"{path.name}: the last {n - off} bytes are a record cut short (the writer was "
                     "stopped mid-write); they were skipped")  # fmt: skip
    st = np.array(starts, np.int64)
    return st + 12, np.diff(np.append(st, off)) - 16  # data offsets, data lengths


def read_file(path: Path, notes: list[str]) -> dict:
    """Columns step, name, value, wall_time (numpy arrays) of one event file's scalars."""
    from google.protobuf.message import DecodeError
    from tensorboard.compat.proto import event_pb2

    try:
        buf = path.read_bytes()
    except OSError as e:
        raise UserError(f"cannot read {path} ({e.strerror or e}): check the path and its permissions") from None
    offs, lens = _records(buf, path, notes)
    fast, (f_step, f_code, f_val, f_wall), tags = _fast_scalars(np.frombuffer(buf, np.uint8), offs, lens, path)
    parse = event_pb2.Event.FromString
    mv = memoryview(buf)
    idx: list[int] = []
    steps: list[int] = []
    codes: list[int] = []
    values: list[float] = []
    walls: list[float] = []
    code_of = {t: i for i, t in enumerate(tags)}
    plugin: dict[str, str] = {}  # tag -> plugin name; tf2 writes it with a tag's first value only
    skipped: set[str] = set()
    for k in np.flatnonzero(~fast).tolist():  # the records the array decoder left: protobuf decodes them
        try:
            ev = parse(mv[int(offs[k]) : int(offs[k] + lens[k])])
        except DecodeError:
            raise UserError(f"{path}: record {k} is corrupt (not an Event protobuf): the file is damaged; "
                            "move it out of the folder to import the rest") from None  # fmt: skip
        if not ev.HasField("summary"):
            continue  # file version, graph, run metadata...
        for v in ev.summary.value:
            kind = v.WhichOneof("value")
            if kind == "simple_value":
                val = v.simple_value
            elif kind == "tensor":
                if v.metadata.plugin_data.plugin_name:
                    plugin[v.tag] = v.metadata.plugin_data.plugin_name
                val = _scalar_tensor(v.tensor) if plugin.get(v.tag, "scalars") == "scalars" else None
                if val is None:
                    skipped.add(v.tag)
                    continue
            else:  # images, histograms, audio: not scalars
                skipped.add(v.tag)
                continue
            idx.append(k)
            steps.append(ev.step)
            codes.append(code_of.setdefault(v.tag, len(code_of)))
            values.append(val)
            walls.append(ev.wall_time)
    if skipped:
        notes.append(f"{path.name}: {len(skipped)} non-scalar tag(s) skipped (" + ", ".join(sorted(skipped)[:5])
                     + (", ..." if len(skipped) > 5 else "") + ")")  # fmt: skip
    # both decoders' points back in the order they were logged (repeated steps keep the last)
    order = np.argsort(np.concatenate([np.flatnonzero(fast), np.array(idx, np.int64)]), kind="stable")
    names = np.array(list(code_of), dtype=object)
    return {"step": np.concatenate([f_step, np.array(steps, np.int64)])[order],
            "name": names[np.concatenate([f_code, np.array(codes, np.int64)])[order]],
            "value": np.concatenate([f_val, np.array(values, np.float64)])[order],
            "wall_time": np.concatenate([f_wall, np.array(walls, np.float64)])[order]}  # fmt: skip


def _varint(a: np.ndarray, pos: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(value, byte length, ok) of the varints starting at each `pos`, at most `width` bytes."""
    b = a[np.minimum(pos[:, None] + np.arange(width), a.size - 1)].astype(np.uint64)
    more = b >= 0x80
    ok = ~more.all(axis=1)
    n = np.argmin(more, axis=1) + 1
    used = np.arange(width) < n[:, None]
    shifted = (b & np.uint64(0x7F)) << (np.uint64(7) * np.arange(width, dtype=np.uint64))
    val = (shifted * used).sum(axis=1, dtype=np.uint64)
    return val, n, ok


def _fast_scalars(a, offs, lens, path):
    """Decode, in array ops, the records of the layout add_scalar writes, one simple_value per
    Event: 09 <wall_time f64> [10 <step varint>] 2A <len> (0A <len> (0A <taglen> <tag> 15 <f32>)).
    Returns (mask of records decoded, (step, tag code, value, wall_time), tags); every other
    record (file version, tensors, several values, long tags) is left to protobuf."""
    empty = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), np.empty(0))
    if not len(offs):
        return np.zeros(0, bool), empty, []
    end = offs + lens

    def byte(i):  # the byte at each position (clamped: a record that is not this layout may run off)
        return a[np.minimum(i, a.size - 1)]

    ok = (lens >= 16) & (a[offs] == 0x09)
    p = offs + 9
    has_step = byte(p) == 0x10
    step, n, vok = _varint(a, p + 1, 5)  # steps below 2**35; longer ones go to protobuf
    ok &= ~has_step | vok
    q = np.where(has_step, p + 1 + n, p)
    step = np.where(has_step, step, 0).astype(np.int64)  # (a negative step is a 10-byte varint)
    ok &= byte(q) == 0x2A
    slen, n, vok = _varint(a, q + 1, 5)
    s = q + 1 + n
    ok &= vok & (s + slen.astype(np.int64) == end)  # the summary is the Event's last field
    v = s + 2  # one Value of < 128 bytes: 0A <len>
    ok &= (byte(s) == 0x0A) & (byte(s + 1).astype(np.int64) == end - v)
    taglen = byte(v + 1).astype(np.int64)
    ok &= (byte(v) == 0x0A) & (taglen < 0x80) & (v + 2 + taglen + 5 == end) & (byte(end - 5) == 0x15)
    k = np.flatnonzero(ok)
    if not k.size:
        return ok, empty, []
    wall = a[offs[k, None] + 1 + np.arange(8)].copy().view("<f8").ravel()
    val = a[end[k, None] - 4 + np.arange(4)].copy().view("<f4").ravel().astype(np.float64)
    # tags: pad each to the longest, give equal rows one code (a row view as bytes, np.unique)
    tl, t0 = taglen[k], v[k] + 2
    width = int(tl.max())
    rows = np.where(np.arange(width) < tl[:, None], byte(t0[:, None] + np.arange(width)), 0)
    rows = np.ascontiguousarray(np.column_stack([rows, tl.astype(np.uint8)]).astype(np.uint8))
    uniq, code = np.unique(rows.view(f"V{width + 1}").ravel(), return_inverse=True)
    try:
        tags = [bytes(u)[: bytes(u)[-1]].decode("utf-8") for u in uniq]
    except UnicodeDecodeError:
        raise UserError(f"{path}: a tag is not UTF-8 text: the file is damaged") from None
    return ok, (step[k], code.ravel().astype(np.int64), val, wall), tags


def _scalar_tensor(t) -> float | None:
    """The value of a 0-d numeric TensorProto, else None (text, histograms...)."""
    if t.tensor_shape.dim:
        return None
    from tensorboard.util import tensor_util

    try:
        a = tensor_util.make_ndarray(t)
    except Exception:  # an unknown dtype: not a scalar we can read
        return None
    return float(a) if a.dtype.kind in "fiub" and a.size == 1 else None


def read_tensorboard(root: Path) -> tuple[list[tuple[str, dict]], list[str]]:
    """[(run name, columns)], notes: every run under `root` (a folder or one event file)."""
    notes: list[str] = []
    out = []
    for run, files in event_files(root).items():
        parts = [read_file(f, notes) for f in files]
        cols = {k: np.concatenate([p[k] for p in parts]) for k in ("step", "value", "wall_time")}
        cols["name"] = [n for p in parts for n in p["name"]]
        if len(cols["value"]):
            out.append((run, cols))
        else:
            notes.append(f"run '{run or root.name}' has no scalars; skipped")
    if not out:
        raise UserError(f"no scalars in the TensorBoard files under {root}: emergelab imports scalar "
                        "summaries only (add_scalar / tf.summary.scalar)")  # fmt: skip
    return out, notes
