"""The foraging game's rules (batched env and PettingZoo env agree step by step), its config
checks, its value-decoding measure, and PettingZoo's own API test."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.lab.registry import get_world
from emergelab.worlds.foraging_game import ForagingGameConfig, make_env, value_r2, value_sets


def _batch(cfg):
    from emergelab.worlds._foraging_env import ForagingBatch

    return ForagingBatch(cfg.grid_size, cfg.vocab_size, cfg.max_steps, cfg.max_value,
                         joint=cfg.pickup == "joint", talk_steps=cfg.talk_steps)


@pytest.mark.parametrize("bad, match", [
    ({"vocab_size": 0}, "vocab_size"),
    ({"grid_size": 1}, "grid_size"),
    ({"value_step": 1}, "held-out"),  # every value is a multiple of 1: nothing held out
    ({"num_envs": 10, "num_minibatches": 4}, "multiple"),
    ({"lr": 0.0}, "lr"),
    ({"device": "tpu"}, "device"),
    ({"pickup": "any"}, "pickup"),
    ({"token_ent_coef": -0.1}, "token_ent_coef"),
    ({"talk_steps": 10}, "talk_steps"),
    ({"critic": "shared"}, "critic"),
    ({"value_knots": -1}, "value_knots"),
])
def test_bad_config_is_a_clear_value_error(bad, match):
    with pytest.raises(ValueError, match=match):
        ForagingGameConfig(**bad)


def test_training_values_are_multiples_of_five_and_the_rest_are_held_out():
    train, held = value_sets(100, 5)
    assert train.tolist() == list(range(5, 101, 5)) and len(held) == 80
    assert not set(train) & set(held)


def test_hand_played_game_rewards_only_the_higher_item():
    import torch

    cfg = ForagingGameConfig(grid_size=5, max_steps=4, talk_steps=0)  # moves count from step 0
    env = _batch(cfg)
    # game 0: agent 0 at (0,0) steps right onto item 0 (value 30 < 70): failure.
    # game 1: agent 1 at (4,4) steps up onto item 1 (value 70 > 30): success.
    # game 2: both step onto an item at once: failure. game 3: nobody moves: timeout, failure.
    pos = torch.tensor([[[0, 0], [4, 4]], [[0, 0], [4, 4]], [[0, 0], [4, 4]], [[0, 0], [4, 4]]])
    items = torch.tensor([[[0, 1], [3, 4]]] * 4)
    values = torch.tensor([[30, 70]] * 4)
    obs = env.set_state(pos, items, values, torch.zeros(4, dtype=torch.bool))
    assert obs.shape == (2, 4, 9 + cfg.vocab_size)
    move = torch.tensor([[4, 0, 4, 0], [0, 1, 1, 0]])  # (2 agents, 4 games)
    token = torch.tensor([[3, 3, 3, 3], [7, 7, 7, 7]])
    obs, reward, ended = env.step(move, token)
    assert reward.tolist() == [0, 1, 0, 0] and ended.tolist() == [True, True, True, False]
    assert obs[0, 3, 7 + 7] == 1 and obs[1, 3, 7 + 3] == 1  # each hears the other's token next step
    for _ in range(3):
        _, reward, ended = env.step(torch.zeros(2, 4, dtype=torch.long), token)
    assert ended.tolist() == [False, False, False, True]
    assert env.success.tolist() == [False, True, False, False]


def test_silenced_games_hear_only_silence():
    import torch

    cfg = ForagingGameConfig()
    env = _batch(cfg)
    gen = torch.Generator().manual_seed(0)
    silent = torch.tensor([0, 0, 0, 1, 1, 1], dtype=torch.bool)
    env.reset(torch.as_tensor(value_sets(100, 5)[0]), 6, gen, silent)
    obs, _, _ = env.step(torch.zeros(2, 6, dtype=torch.long), torch.full((2, 6), 2))
    heard = obs[:, :, 7:7 + cfg.vocab_size + 1].argmax(-1)  # (2, 6)
    assert heard[:, :3].eq(2).all() and heard[:, 3:].eq(cfg.vocab_size).all()


def test_joint_pickup_needs_both_agents_on_the_item():
    import torch

    cfg = ForagingGameConfig(grid_size=5, max_steps=4, pickup="joint", talk_steps=0)  # moves from step 0
    env = _batch(cfg)
    # game 0: agent 0 steps onto item 1 (the higher) alone: nothing collected, the game goes on.
    # game 1: both agents step onto item 1 together: success. game 2: both end on item 0 (the
    # lower), agent 0 first and agent 1 a step later: failure.
    pos = torch.tensor([[[1, 0], [3, 3]], [[1, 0], [2, 1]], [[0, 0], [1, 0]]])
    items = torch.tensor([[[0, 1], [1, 1]]] * 3)  # item 0 at (0, 1), item 1 at (1, 1)
    values = torch.tensor([[30, 70]] * 3)
    env.set_state(pos, items, values, torch.zeros(3, dtype=torch.bool))
    move = torch.tensor([[4, 4, 4], [0, 1, 1]])  # (2 agents, 3 games)
    _, reward, ended = env.step(move, torch.zeros(2, 3, dtype=torch.long))
    assert reward.tolist() == [0, 1, 0] and ended.tolist() == [False, True, False]
    _, reward, ended = env.step(torch.tensor([[0, 0, 0], [0, 0, 4]]), torch.zeros(2, 3, dtype=torch.long))
    assert ended.tolist() == [False, False, True] and env.success.tolist() == [False, True, False]


@pytest.mark.parametrize("seed, pickup, talk", [(0, "either", 0), (1, "either", 1), (2, "either", 0),
                                               (3, "joint", 0), (4, "either", 2)])
def test_pettingzoo_env_and_batched_env_agree_step_by_step(seed, pickup, talk):
    import torch

    cfg = ForagingGameConfig(seed=seed, pickup=pickup, talk_steps=talk)
    rng = np.random.default_rng(seed)
    batch, pz = _batch(cfg), make_env(cfg)
    G = 32
    o = batch.reset(torch.as_tensor(value_sets(100, 5)[0]), G, torch.Generator().manual_seed(seed))
    state = [x.numpy().copy() for x in (batch.pos, batch.items, batch.values)]
    moves = rng.integers(0, 5, (cfg.max_steps, 2, G))
    tokens = rng.integers(0, cfg.vocab_size, (cfg.max_steps, 2, G))
    obs_b, rew_b = [o.numpy()], []
    for t in range(cfg.max_steps):
        o, r, _ = batch.step(torch.as_tensor(moves[t]), torch.as_tensor(tokens[t]))
        obs_b.append(o.numpy())
        rew_b.append(r.numpy())
    for g in range(G):
        ob = pz.set_state(state[0][g], state[1][g], state[2][g])
        for t in range(cfg.max_steps):
            for i, a in enumerate(pz.possible_agents):
                np.testing.assert_allclose(ob[a], obs_b[t][i, g], atol=1e-6, err_msg=f"game {g} t {t}")
            if not pz.agents:
                assert not batch.active[g]
                break
            acts = {a: (moves[t, i, g], tokens[t, i, g]) for i, a in enumerate(pz.possible_agents)}
            ob, rew, *_ = pz.step(acts)
            assert rew["agent_0"] == rew_b[t][g], f"game {g} t {t}"
        assert pz.success == bool(batch.success[g])


def test_talk_steps_are_for_words_only():
    import torch

    cfg = ForagingGameConfig(talk_steps=1)
    env = _batch(cfg)
    pool = torch.as_tensor(value_sets(100, 5)[0])
    env.reset(pool, 64, torch.Generator().manual_seed(0))
    start = env.pos.clone()
    obs, _, ended = env.step(torch.full((2, 64), 4), torch.full((2, 64), 5))  # everyone tries to move
    assert env.pos.equal(start) and not ended.any()  # nobody moved, nothing collected
    assert obs[:, :, 7 + 5].eq(1).all()  # but the words were heard
    env.step(torch.full((2, 64), 4), torch.full((2, 64), 5))
    assert not env.pos.equal(start)  # from step 1 on, moves count


def test_two_hot_value_code_interpolates_between_knots():
    import torch

    from emergelab.worlds._foraging_agents import Population
    from emergelab.worlds._foraging_env import obs_dim

    pop = Population(1, obs_dim(10), 8, 10, torch.Generator().manual_seed(0), value_knots=20)
    assert pop.w_in.shape[-2] == obs_dim(10) + 21
    x = torch.zeros(2, 1, 3, obs_dim(10))
    x[..., 6] = torch.tensor([0.05, 0.37, 1.0])
    ws = pop.weights(None)
    h = pop.h0(1, 3, "cpu")
    pop.step(ws, x, h)  # runs with the widened input
    v = x[..., 6:7]
    code = (1 - (v - pop.knots).abs() * 20).clamp(min=0)[0, 0]
    assert code.sum(-1).allclose(torch.ones(3)) and code[0, 1] == 1 and code[2, 20] == 1
    assert code[1, 7].item() == pytest.approx(0.6, abs=1e-5)
    assert code[1, 8].item() == pytest.approx(0.4, abs=1e-5)


def test_pettingzoo_parallel_api():
    from pettingzoo.test import parallel_api_test

    env = make_env({"seed": 3})
    parallel_api_test(env, num_cycles=200)
    obs, _ = env.reset(seed=1)
    assert set(obs) == {"agent_0", "agent_1"} and obs["agent_0"].shape == (19,)
    with pytest.raises(ValueError, match="values"):
        make_env({}, values="test")


def test_value_r2_is_one_for_a_code_that_names_the_value_and_zero_for_noise():
    rng = np.random.default_rng(0)
    v = rng.integers(0, 10, 400)
    named = np.column_stack([v, rng.integers(0, 10, 400)])  # token 0 = the value; token 1 noise
    assert value_r2(named, v * 5.0, 10) == pytest.approx(1.0)
    noise = rng.integers(0, 10, (400, 2))
    assert abs(value_r2(noise, v * 5.0, 10)) < 0.15
    # fitted on one set, scored on another that the code also names
    w = rng.integers(0, 10, 100)
    assert value_r2(named, v, 10, test=(np.column_stack([w, w]), w)) == pytest.approx(1.0)


def test_world_is_registered_with_its_presets():
    w = get_world("foraging_game")
    assert {"paper", "quick", "tiny"} <= set(w.preset_names())
    assert w.make_config("quick").iterations <= w.make_config("paper").iterations
