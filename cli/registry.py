"""Which module implements ``attncheck VERB TASK`` (verify / run / build / precision).

Extension by registration (STYLE.md 14): a task's commands live in their own module and are
listed here as ``task -> (module, attribute, one-line help)``.  Modules are imported only when
the command runs; an entry whose module does not exist yet is hidden.
"""
from __future__ import annotations

TASK_COMMANDS: dict[str, dict[str, tuple[str, str, str]]] = {
    "verify": {
        "induction": ("attncheck.cli.seqtask", "verify_induction", "2-layer induction head (sht24b.two-layer-ub)."),
        "hop": ("attncheck.cli.hop_cmds", "verify_hop", "k-hop induction head in 2+ceil(log2 k) layers (sht24a.thm4_2)."),
        "mpc": ("attncheck.cli.mpc", "verify_mpc", "MPC protocol vs its transformer simulation (sht24a.thm3_1)."),
        "qsa": ("attncheck.cli.sht23_cmds", "verify_qsa", "q-sparse averaging, one layer (sht23.thm2/thm3)."),
        "match2": ("attncheck.cli.sht23_cmds", "verify_match2", "Match2 with one 3-dim head (sht23.match2_ub)."),
        "match3": ("attncheck.cli.sht23_cmds", "verify_match3", "Match3 by third-order attention (sht23.match3_variants)."),
        "rnn": ("attncheck.cli.sht23_cmds", "verify_rnn", "Sequential RNN baselines (sht23.rnn-ih, sht24a.cor5_2)."),
    },
    "run": {
        "induction": ("attncheck.cli.seqtask", "run_induction", "Run the induction head on one input."),
        "hop": ("attncheck.cli.hop_cmds", "run_hop", "Run the k-hop head on one input."),
    },
    "build": {
        "induction": ("attncheck.cli.seqtask", "build_induction_cmd", "Size, layout and weights of the induction head."),
        "hop": ("attncheck.cli.hop_cmds", "build_hop_cmd", "Size, layout and weights of the k-hop head."),
    },
    "precision": {
        "induction": ("attncheck.cli.seqtask", "precision_induction", "Fewest fixed-point bits for the induction head."),
        "hop": ("attncheck.cli.hop_cmds", "precision_hop", "Fewest fixed-point bits for the k-hop head."),
    },
}
