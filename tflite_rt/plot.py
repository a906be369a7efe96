"""Charts of a benchmark (`tflite-rt bench --plot out.png`); needs matplotlib (`tflite_rt[plot]`).

    from tflite_rt.plot import plot_benchmark
    plot_benchmark(result, "bench.png")     # a BenchmarkResult, or its to_dict() / JSON

Left: the latency distribution of every runtime timed (box, and every run as a dot).
Right, with a profile: the per-op-type breakdown of tflite_rt's invoke time.
"""
import os

import numpy as np


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise RuntimeError("plotting needs matplotlib: pip install 'tflite_rt[plot]'") from None
    matplotlib.use("Agg", force=True)   # files only: no display needed
    import matplotlib.pyplot as plt
    return plt


def plot_benchmark(result, path, top_op_types=12):
    """Writes the charts of `result` to `path` (any format matplotlib knows: .png, .svg, .pdf)."""
    data = result.to_dict() if hasattr(result, "to_dict") else result
    plt = _pyplot()
    series = [("tflite_rt", data["samples_ms"])]
    for peer in data.get("compare") or []:
        if peer["available"] and peer["samples_ms"]:
            series.append((peer["runtime"], peer["samples_ms"]))
    ops = ((data.get("profile") or {}).get("op_types") or [])[:top_op_types]

    height = 0.6 * max(len(series), 4) + 2.2
    fig, axes = plt.subplots(1, 2 if ops else 1, figsize=(13 if ops else 7.5, height), squeeze=False)
    _latency(axes[0][0], series)
    if ops:
        _op_types(axes[0][1], ops, data)
    model = os.path.basename(data["model"]["path"] or "model")
    fig.suptitle("%s, %d thread%s" % (model, data["config"]["num_threads"],
                                      "" if data["config"]["num_threads"] == 1 else "s"), fontsize=12)
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path


def _latency(ax, series):
    names = [name for name, _ in series]
    values = [np.asarray(v, dtype=np.float64) for _, v in series]
    positions = np.arange(len(series))[::-1]   # the first runtime on top
    import matplotlib

    horizontal = ({"orientation": "horizontal"} if tuple(matplotlib.__version_info__[:2]) >= (3, 10)
                  else {"vert": False})
    ax.boxplot(values, positions=positions, widths=0.5, showfliers=False,
               medianprops={"color": "black", "linewidth": 1.5}, **horizontal)
    rng = np.random.default_rng(0)
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red"]
    for k, (pos, v) in enumerate(zip(positions, values)):
        ax.scatter(v, pos + rng.uniform(-0.18, 0.18, v.size), s=8, alpha=0.45, color=colors[k % len(colors)],
                   zorder=3)
        ax.annotate("median %.3f ms" % np.median(v), (np.median(v), pos + 0.3), ha="center", va="bottom",
                    fontsize=8)
    ax.set_yticks(positions)
    ax.set_yticklabels(names)
    ax.set_ylim(positions.min() - 0.6, positions.max() + 0.7)
    # the axis ends past each runtime's upper whisker zone (third quartile + 4 IQR), so that a
    # few stalls of a busy machine do not squeeze the distributions into a corner; the runs left
    # out are counted in the title
    lo = min(v.min() for v in values if v.size)
    hi = max(min(v.max(), q3 + 4 * (q3 - q1)) for v in values if v.size
             for q1, q3 in [np.percentile(v, [25, 75])])
    medians = [np.median(v) for v in values if v.size]
    if lo > 0 and max(medians) / min(medians) > 5:
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: "%g" % v))
        ax.xaxis.set_minor_formatter(NullFormatter())
        right = hi * 1.25
        ax.set_xlim(lo / 1.25, right)
    else:
        pad = 0.08 * (hi - lo) if hi > lo else 0.1 * hi
        right = hi + pad
        ax.set_xlim(max(lo - pad, 0), right)
    hidden = sum(int((v > right).sum()) for v in values)
    title = "latency, %d runs each" % min(v.size for v in values)
    if hidden:
        title += "; %d slower run%s (> %.3g ms) off the axis" % (hidden, "" if hidden == 1 else "s", right)
    ax.set_xlabel("latency per invoke (ms)")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)


def _op_types(ax, ops, data):
    names = [g["op_name"] for g in ops][::-1]
    ms = [g["ms"] for g in ops][::-1]
    pct = [g["percent"] for g in ops][::-1]
    counts = [g["count"] for g in ops][::-1]
    bars = ax.barh(range(len(ops)), ms, color="tab:blue", alpha=0.8)
    for bar, p, c in zip(bars, pct, counts):
        share = "<0.1%" if p < 0.05 else "%.1f%%" % p
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, " %s (%d)" % (share, c),
                va="center", fontsize=8)
    ax.set_yticks(range(len(ops)))
    ax.set_yticklabels(names, fontsize=9)
    ax.set_xlim(0, max(ms) * 1.3 if ms and max(ms) > 0 else 1)
    ax.set_xlabel("ms per invoke (share of the profiled time, node count)")
    check = data["profile"].get("check") or {}
    title = "tflite_rt time per op type"
    if check.get("ratio"):
        title += " (nodes sum to %.0f%% of invoke)" % (100 * check["ratio"])
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
