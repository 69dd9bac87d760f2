"""Plots of QKD key rates against distance, with the PLOB bound (matplotlib, imported here)."""

from __future__ import annotations

__all__ = ["plot_key_rates"]


def plot_key_rates(curves: dict, ax=None):
    """Draw key rate (bits per pulse, log scale) against distance for each ``{label: [RatePoint,
    ...]}`` of ``curves``, with the PLOB bound of the first curve's fiber; returns the Axes.

    Example:
        >>> from kizuna.networking.qkd import key_rate
        >>> ax = plot_key_rates({"decoy": [key_rate("bb84-decoy", d) for d in (0, 50, 100)]})
        >>> ax.get_yscale()
        'log'
    """
    import matplotlib

    if ax is None:
        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 4))
    first = None
    for label, points in curves.items():
        pts = [p for p in points if p.key_rate_bits_per_pulse > 0]
        ax.plot([p.distance_km for p in pts], [p.key_rate_bits_per_pulse for p in pts], label=label)
        first = first or points
    if first:
        ax.plot([p.distance_km for p in first], [p.plob_bits_per_use for p in first], "k--",
                label="PLOB bound")
    ax.set_yscale("log")
    ax.set_xlabel("distance (km)")
    ax.set_ylabel("secret key rate (bits per pulse)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return ax
