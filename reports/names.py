"""Display names: the paper's names for mechanisms, societies and claims.

Records keep the stable registry names (``vickrey``, ``ccv``, ``first_price``, ``env_reward``;
DESIGN §1's table); figures, tables and captions show what Chang et al. (ICML 2020) call them.
A user mechanism (``pkg.mod:NAME``, or any name not in the tables) is shown as it is named.
Nothing here imports matplotlib or hypothesis: the text renderers use it too.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "LABELS",
    "PAPER_NAMES",
    "SHORT_NAMES",
    "claim_title",
    "clones_label",
    "mechanism_name",
    "society_label",
]

#: Full names (legends, captions): Chang et al. 2020, §5 and Table 1; DESIGN §1's table.
PAPER_NAMES: dict[str, str] = {
    "vickrey": "Vickrey",
    "ccv": "Credit-Conserving Vickrey (CCV)",
    "first_price": "Bucket Brigade (first price)",
    "env_reward": "Environment Reward",
}
#: Abbreviations the paper uses in its figures (narrow table columns, axis ticks).
SHORT_NAMES: dict[str, str] = {"vickrey": "V", "ccv": "CCV", "first_price": "BB", "env_reward": "ER"}
#: The names in a society's label (:func:`society_label`): short enough for a row header or a legend.
LABELS: dict[str, str] = {
    "vickrey": "Vickrey",
    "ccv": "CCV",
    "first_price": "Bucket Brigade",
    "env_reward": "Environment Reward",
}


def mechanism_name(mechanism: str, *, short: bool = False) -> str:
    """The paper's name of ``mechanism`` (:data:`PAPER_NAMES`, or :data:`SHORT_NAMES` with ``short``);
    any other name (a user mechanism) unchanged."""
    table = SHORT_NAMES if short else PAPER_NAMES
    return table.get(str(mechanism), str(mechanism))


def clones_label(clones: int) -> str:
    """``"solitary"`` (1), ``"cloned"`` (2) or ``"k clones"`` (k > 2).

    Raises
    ------
    ValueError
        When ``clones`` is not a positive int.
    """
    if isinstance(clones, bool) or not isinstance(clones, int) or clones < 1:
        raise ValueError(f"clones must be a positive int (1 solitary, 2 cloned); got {clones!r}.")
    return {1: "solitary", 2: "cloned"}.get(clones, f"{clones} clones")


def society_label(mechanism: str, clones: int) -> str:
    """``"CCV, cloned"``, ``"Vickrey, solitary"``: a society's row header or legend entry.

    The mechanism by :data:`LABELS`; a name not there (a user mechanism, ``"monolithic"``) is
    kept as it is. Clones by :func:`clones_label`.
    """
    return f"{LABELS.get(str(mechanism), str(mechanism))}, {clones_label(int(clones))}"


def claim_title(claim: str, title: Any = None) -> str:
    """The column header of ``claim``: ``title`` when given (a verdict row carries one), else
    ``verify.CLAIMS[claim].title``, else the claim's name (a user claim of an older record).

    ``verify.CLAIMS`` is loaded only when needed (it imports the search engine).
    """
    if title:
        return str(title)
    import verify

    known = verify.CLAIMS.get(str(claim))
    return known.title if known is not None else str(claim)
