"""The MPC machine model enforces its limits and names the machine and round (model.mpc)."""
import pytest

from attncheck.constructions.mpc.model import Limits, Protocol, pack, unpack
from attncheck.verifiers.mpc_machine import MPCViolation, run_protocol
from attncheck.constructions.verdict import BadInput


def _proto(step, q=4, s=2, p=4, n_in=4, rounds=1, output=lambda i, m: ()):
    return Protocol("toy", "model.mpc", "R", Limits(q, s, p), n_in, rounds, step, output)


def test_input_is_spread_over_the_first_machines_in_order():
    run = run_protocol(_proto(lambda r, i, m: m and tuple((i, w) for _, w in m), n_in=3),
                       [5, 6, 7])
    assert run.memories[0] == (((0, 5), (0, 6)), ((1, 7),), (), ())
    assert run.memories[1] == run.memories[0]          # every machine kept its words
    assert run.traffic()["words"] == 3


def test_inbox_is_ordered_by_source_then_send_order():
    def step(r, i, m):
        return ((3, 10 + i), (3, 5)) if i in (0, 1) else ()
    run = run_protocol(_proto(step, s=4), [0, 0, 0, 0])
    assert run.memories[1][3] == ((0, 10), (0, 5), (1, 11), (1, 5))


@pytest.mark.parametrize("step, needle", [
    (lambda r, i, m: tuple((0, 1) for _ in range(3)) if i == 1 else (), "round 0, machine 1: sends 3 words, limit s = 2"),
    (lambda r, i, m: ((0, 1),), "round 0, machine 0: receives 4 words, limit s = 2"),
    (lambda r, i, m: ((9, 1),) if i == 2 else (), "machine 9, which does not exist"),
    (lambda r, i, m: ((0, 16),) if i == 3 else (), "does not fit in p = 4 bits"),
    (lambda r, i, m: ((0, -1),) if i == 3 else (), "does not fit in p = 4 bits"),
    (lambda r, i, m: ((0, 1.5),) if i == 3 else (), "is not an integer word"),
])
def test_violations_are_rejected_with_machine_and_round(step, needle):
    with pytest.raises(MPCViolation) as e:
        run_protocol(_proto(step), [1, 2, 3, 4])
    assert needle in str(e.value)
    assert isinstance(e.value, BadInput)                    # exit code 2 at the CLI


def test_output_limit_and_input_checks():
    with pytest.raises(MPCViolation, match="outputs 3 words"):
        run_protocol(_proto(lambda r, i, m: (), output=lambda i, m: (1, 2, 3)), [1, 2, 3, 4])
    with pytest.raises(BadInput, match="takes 4 input words"):
        run_protocol(_proto(lambda r, i, m: ()), [1, 2])
    with pytest.raises(BadInput, match="need 3 machines"):
        _proto(lambda r, i, m: (), q=2, n_in=5)
    with pytest.raises(BadInput, match="s must be an integer"):
        Limits(2, 0, 4)


def test_pack_unpack_round_trip():
    for fields in [(0, 0, 0), (3, 1, 2), (7, 7, 7)]:
        assert unpack(pack(fields, 3), 3, 3) == fields
    with pytest.raises(ValueError):
        pack((8,), 3)
