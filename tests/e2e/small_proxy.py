"""The real accuracy proxy kept small, for end-to-end runs of `pimdse` and `python -m dse.eval`."""

SMALL_PROXY = (
    "proxy.text.source=lee",
    "proxy.text.calib_seqs=1",
    "proxy.seq_tokens=320",
    "proxy.prefill_tokens=256",
    "proxy.n_seqs=1",
    "proxy.layers=[1,20]",
    "proxy.queries_per_seq=16",
)
"""Command-line overrides: one 320-token sequence of the news text (256 prefill), two layers in quick
mode. Every setting is explicit: the shipped defaults are 4,096-token Wikipedia sequences (tens of
seconds of capture per new setting), and a test must not grow with them."""
