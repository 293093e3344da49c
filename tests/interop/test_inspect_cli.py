"""``attncheck inspect TASK``: the command, its JSON, the picture files and its errors (issue 16)."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def one_error_line(r) -> str:
    assert r.code == 2, (r.code, r.out, r.err)
    assert r.err.count("\n") == 1 and "Traceback" not in r.err, repr(r.err)
    return r.err.strip()


def test_json_names_every_head_and_role(cli):
    r = cli("inspect", "hop", "--k", "4", "--N", "12", "--residual", "additive", "--inputs", "16", "--json")
    assert r.code == 0, r.err
    d = r.json
    assert d["command"] == "inspect hop" and d["verdict"] is None and d["params"]["inputs"] == 16
    ins = d["inspection"]
    assert ins["inputs"] == 16 and ins["start"] == "constant"
    assert list(ins["roles"]) == ["prev", "self", "start", "last_occurrence", "find^1", "find^2", "find^4"]
    assert [h["claimed"] for h in ins["heads"]] == ["prev", "find^1", "find^1", "find^2"]
    assert all(h["agrees"] is True for h in ins["heads"])
    assert all(set(h["roles"]) == set(ins["roles"]) for h in ins["heads"])


def test_no_repeat_probes_on_a_hop_model(cli):
    r = cli("inspect", "hop", "--k", "2", "--N", "9", "--probes", "no-repeat", "--inputs", "12", "--json")
    assert r.code == 0, r.err
    assert r.json["inspection"]["probes"] == "no-repeat"
    assert [h["claimed"] for h in r.json["inspection"]["heads"]] == ["prev", "find^1", "find^1"]


def test_human_table_names_the_roles(cli):
    r = cli("inspect", "induction", "--N", "8", "--inputs", "8")
    assert r.code == 0, r.err
    assert "find^1" in r.out and "last_occurrence" in r.out and "alignment" in r.out


def test_same_seed_same_json_apart_from_timing(cli):
    a = cli("inspect", "induction", "--N", "7", "--inputs", "9", "--seed", "4", "--json").json
    b = cli("inspect", "induction", "--N", "7", "--inputs", "9", "--seed", "4", "--json").json
    a.pop("timing"), b.pop("timing")
    assert a == b


@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_picture_files_are_valid(cli, tmp_path, suffix):
    path = tmp_path / f"attn.{suffix}"
    r = cli("inspect", "induction", "--N", "8", "--input", "abcabcab", "--picture", path, "--json")
    assert r.code == 0, r.err
    assert r.json["picture"] == {"file": str(path), "input": [0, 1, 2, 0, 1, 2, 0, 1], "heads": [[1, 1], [2, 1]]}
    data = path.read_bytes()
    if suffix == "png":
        assert data.startswith(PNG_SIGNATURE)
    else:
        root = ET.fromstring(data)
        assert root.tag.endswith("svg")


def test_picture_of_one_head_and_of_a_shorter_input(cli, tmp_path):
    path = tmp_path / "one.svg"
    r = cli("inspect", "hop", "--k", "2", "--N", "10", "--input", "abca", "--picture", path,
            "--layer", "3", "--head", "1", "--json")
    assert r.code == 0, r.err
    assert r.json["picture"]["heads"] == [[3, 1]] and r.json["picture"]["input"] == [0, 1, 2, 0]
    ET.fromstring(path.read_bytes())


def test_input_without_picture_shows_each_heads_argmax(cli):
    from attncheck.constructions import tasks
    x = [0, 1, 2, 0, 2, 1, 1, 0, 2]
    r = cli("inspect", "induction", "--N", "12", "--input", "abcacbbac", "--inputs", "8", "--json")
    assert r.code == 0, r.err
    ia = r.json["input_attention"]
    assert ia["input"] == x and r.json["picture"] is None
    l1, l2 = ia["heads"]
    assert l1["argmax"] == l1["targets"] == list(range(len(x)))
    assert l2["argmax"] == l2["targets"] == tasks.find1_table(x)[1:]
    assert min(l1["weight"] + l2["weight"]) > 0.99
    human = cli("inspect", "induction", "--N", "12", "--input", "abcacbbac", "--inputs", "8")
    assert "L2H1" in human.out and "*" in human.out


def test_N_comes_from_the_input_when_not_given(cli):
    r = cli("inspect", "induction", "--input", "abcab", "--inputs", "4", "--json")
    assert r.code == 0, r.err
    assert r.json["construction"]["params"]["N"] == 5


def test_from_a_saved_file(cli, tmp_path):
    f = tmp_path / "ih.npz"
    assert cli("build", "induction", "--N", "9", "--out", f).code == 0
    r = cli("inspect", "induction", "--from", f, "--inputs", "8", "--json")
    assert r.code == 0, r.err
    assert [h["claimed"] for h in r.json["inspection"]["heads"]] == ["prev", "find^1"]


@pytest.mark.parametrize("argv, says", [
    (("inspect", "nosuch", "--N", "8"), "no such command 'nosuch'"),
    (("inspect", "induction", "--N", "8", "--input", "abcd"), "outside the alphabet"),
    (("inspect", "induction", "--N", "4", "--input", "abcab"), "5 tokens but the model has N = 4"),
    (("inspect", "induction", "--N", "8", "--picture", "p.png", "--layer", "3"), "out of range"),
    (("inspect", "induction", "--N", "8", "--picture", "p.png", "--head", "2"), "out of range"),
    (("inspect", "induction", "--N", "8", "--picture", "p.pdf"), ".png or .svg"),
    (("inspect", "induction", "--N", "8", "--layer", "1"), "give --picture"),
    (("inspect", "induction", "--N", "8", "--inputs", "0"), "--inputs"),
])
def test_bad_input_is_one_line(cli, tmp_path, monkeypatch, argv, says):
    monkeypatch.chdir(tmp_path)
    assert says in one_error_line(cli(*argv))


def test_unwritable_picture_path_is_one_line_before_any_work(cli, tmp_path):
    path = tmp_path / "no" / "such" / "dir" / "p.png"
    line = one_error_line(cli("inspect", "induction", "--N", "8", "--picture", path))
    assert "cannot write" in line and not path.exists()


def test_spent_budget_is_exit_3(cli):
    r = cli("inspect", "induction", "--N", "8", "--budget", "1e-9", "--json")
    assert r.code == 3 and r.err.count("\n") == 1
    assert r.json["verdict"] == "unknown"
