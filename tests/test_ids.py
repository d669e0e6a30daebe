"""app/ids.py: ids sort in the order they were made, within a millisecond too."""

from __future__ import annotations

from app.ids import new_id


def test_ids_made_one_after_the_other_sort_in_that_order() -> None:
    ids = [new_id("cust") for _ in range(2000)]  # many share a millisecond
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(len(i) == len("cust_") + 23 for i in ids)
