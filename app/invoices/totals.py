"""Invoice arithmetic, pure and exact (SPEC §3 finalize order, §10 tax per rate).

Order:

1. Each line's amount is quantity x unit amount; the subtotal is their sum.
2. Discounts come off the subtotal, each coupon off what the previous ones left (a
   percentage rounded half away from zero), and each is spread over the lines in
   proportion to what they have left (largest remainder). A line's gross is its amount
   less its discounts.
3. Inclusive tax, once per group of lines paying the same set of inclusive rates (summing
   to P): with G the group's gross, its net is G x 100 / (100 + P) rounded half away from
   zero, and its tax G - net is split over the rates so that rate i's share is its exact
   part G x p_i / (100 + P) rounded down or up (less than one minor unit from it) and the
   shares add up to exactly G - net (largest remainder, ties to the earlier rate). Each
   rate's share is then apportioned to the group's lines in proportion to their gross
   (largest remainder). Inclusive tax adds nothing to the total.
4. A line's taxable amount is its gross less its inclusive tax (its gross where it pays
   no inclusive rate). Exclusive tax, once per rate: its basis is the sum of the taxable
   amounts of the lines that pay it, its tax is basis x rate rounded half away from zero
   (EN 16931 BR-CO-17), apportioned to those lines in proportion to their taxable amount
   (largest remainder). Exclusive tax is added to the total.
5. A line's net amount (before discounts, EN 16931 BT-131) is its amount when it pays no
   inclusive rate; in a group of inclusive lines, the group's net before discounts
   (sum of amounts x 100 / (100 + P), rounded) apportioned over the lines' amounts, so
   without a discount the lines' nets add up to the group's basis exactly, and with one
   they exceed it by what the discounts took off the net (rounding is monotone, never less).

Every apportioned share is its exact part rounded down or up, so within one minor unit of
it, and the shares add up exactly to what was apportioned.

Why one inclusive rate p < 100 % also meets BR-CO-17 (tax = basis x p / 100, "rounded"):
the net N = G x 100 / (100 + p) + e with |e| <= 1/2, so the tax T = G - N satisfies
T - N x p / 100 = G - N x (100 + p) / 100 = -e x (100 + p) / 100, hence
|T - N x p / 100| <= (100 + p) / 200 < 1 minor unit. T is therefore the exact product
rounded down or up; it can differ by one minor unit from the product rounded half away
(G = 19995 at 19 %: N = 16803, T = 3192, N x 19 % = 3192.57), which the CEN rule accepts:
it allows less than one major unit from the product rounded to hundredths.

All arithmetic is on integers (minor units, fixed-point percentages): no
float ever touches money.
"""

from __future__ import annotations

from dataclasses import dataclass

_E6 = 1_000_000  # 100 % in ten-thousandths of a percent


@dataclass(frozen=True, slots=True)
class LineIn:
    amount: int  # minor units, >= 0
    # Keys of the rates this line pays, among those given to ``compute``; None: all of them.
    rates: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class CouponIn:
    key: str
    percent_off_e2: int | None  # hundredths of a percent
    amount_off: int | None  # minor units


@dataclass(frozen=True, slots=True)
class RateIn:
    key: str
    percentage_e4: int  # ten-thousandths of a percent
    inclusive: bool


@dataclass(frozen=True, slots=True)
class TaxAmount:
    rate: str
    amount: int  # minor units
    inclusive: bool
    taxable_amount: int  # minor units: the basis, net of discounts and inclusive tax


@dataclass(frozen=True, slots=True)
class LineOut:
    discount_amount: int
    net_amount: int  # before discounts, without inclusive tax (BT-131)
    taxable_amount: int  # after discounts, without inclusive tax
    tax_amounts: tuple[TaxAmount, ...]


@dataclass(frozen=True, slots=True)
class Totals:
    subtotal: int
    discount: int
    tax: int
    total: int
    lines: tuple[LineOut, ...]
    discounts: tuple[tuple[str, int], ...]  # (coupon key, amount)
    tax_amounts: tuple[TaxAmount, ...]  # per rate that some line pays, in the order of the rates given
    untaxed_amount: int | None  # taxable amount of the lines that pay no rate; None without such lines


def div_round_half_away(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero, exactly."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    sign = -1 if numerator < 0 else 1
    quotient, remainder = divmod(abs(numerator), denominator)
    if remainder * 2 >= denominator:
        quotient += 1
    return sign * quotient


def _allocate(amount: int, weights: list[int]) -> list[int]:
    """Split ``amount`` over ``weights`` proportionally, exactly: each share is its
    exact part ``amount x w / sum(weights)`` rounded down or up, and they add up to ``amount``."""
    total = sum(weights)
    if total == 0 or amount == 0:
        return [0] * len(weights)
    return _round_parts(amount, [amount * w for w in weights], total)


def _round_parts(amount: int, numerators: list[int], denominator: int) -> list[int]:
    """Round the exact parts ``numerators[i] / denominator`` (>= 0) to integers adding up to
    ``amount``: each rounded down, then up for the largest remainders (ties to the earlier
    part) until they reach ``amount``. So each result is its part rounded down or up, as
    long as ``amount`` is within one of the parts' sum, minus the fraction that rounding
    down loses (``amount`` is then at least the sum of the parts rounded down, and at most
    that plus the number of parts that are not whole)."""
    shares = [numerator // denominator for numerator in numerators]
    by_remainder = sorted(range(len(numerators)), key=lambda i: (-(numerators[i] % denominator), i))
    for i in by_remainder[: amount - sum(shares)]:
        shares[i] += 1
    return shares


def _discounts(lines: list[LineIn], coupons: list[CouponIn]) -> tuple[list[int], list[tuple[str, int]]]:
    """Each line's discount, and each coupon's amount (step 2)."""
    remaining = [line.amount for line in lines]
    line_discounts = [0] * len(lines)
    discounts: list[tuple[str, int]] = []
    for coupon in coupons:
        left = sum(remaining)
        if coupon.percent_off_e2 is not None:
            amount = div_round_half_away(left * coupon.percent_off_e2, 10_000)
        else:
            amount = coupon.amount_off or 0
        amount = min(amount, left)
        for i, share in enumerate(_allocate(amount, remaining)):
            remaining[i] -= share
            line_discounts[i] += share
        discounts.append((coupon.key, amount))
    return line_discounts, discounts


def compute(lines: list[LineIn], coupons: list[CouponIn], rates: list[RateIn]) -> Totals:
    """Totals of an invoice: discounts, then tax per rate; see the module docstring."""
    line_discounts, discounts = _discounts(lines, coupons)
    gross = [line.amount - d for line, d in zip(lines, line_discounts, strict=True)]
    paid = [[r for r in rates if line.rates is None or r.key in line.rates] for line in lines]
    # (line index, rate key) -> that line's share of the rate's tax
    shares: dict[tuple[int, str], int] = {}
    net_amounts = [line.amount for line in lines]
    taxable = list(gross)

    groups: dict[tuple[str, ...], list[int]] = {}
    for i, line_rates in enumerate(paid):
        keys = tuple(r.key for r in line_rates if r.inclusive)
        if keys:
            groups.setdefault(keys, []).append(i)
    for members in groups.values():
        inclusive = [r for r in paid[members[0]] if r.inclusive]
        scale = _E6 + sum(r.percentage_e4 for r in inclusive)
        weights = [gross[i] for i in members]
        group_gross = sum(weights)
        group_tax = group_gross - div_round_half_away(group_gross * _E6, scale)
        # Each rate's share is rounded from its exact part of the gross, not from a part of the
        # already rounded tax: that would add the net's rounding (up to 1/2) to the share's own.
        rate_taxes = _round_parts(group_tax, [group_gross * r.percentage_e4 for r in inclusive], scale)
        for rate, rate_tax in zip(inclusive, rate_taxes, strict=True):
            for i, share in zip(members, _allocate(rate_tax, weights), strict=True):
                shares[i, rate.key] = share
                taxable[i] -= share
        amounts = [lines[i].amount for i in members]
        group_net = div_round_half_away(sum(amounts) * _E6, scale)
        for i, net in zip(members, _allocate(group_net, amounts), strict=True):
            net_amounts[i] = net

    per_rate: list[TaxAmount] = []
    for rate in rates:
        members = [i for i, line_rates in enumerate(paid) if rate in line_rates]
        if not members:
            continue
        basis = sum(taxable[i] for i in members)
        if rate.inclusive:
            amount = sum(shares[i, rate.key] for i in members)
        else:
            amount = div_round_half_away(basis * rate.percentage_e4, _E6)
            # Only several inclusive rates on tiny lines could leave a taxable amount below 0.
            for i, share in zip(members, _allocate(amount, [max(taxable[i], 0) for i in members]), strict=True):
                shares[i, rate.key] = share
        per_rate.append(TaxAmount(rate.key, amount, rate.inclusive, basis))

    outs = tuple(
        LineOut(line_discounts[i], net_amounts[i], taxable[i],
                tuple(TaxAmount(r.key, shares[i, r.key], r.inclusive, taxable[i]) for r in paid[i]))
        for i in range(len(lines)))
    untaxed = [i for i, line_rates in enumerate(paid) if not line_rates]
    exclusive = sum(t.amount for t in per_rate if not t.inclusive)
    subtotal = sum(line.amount for line in lines)
    discount = sum(amount for _, amount in discounts)
    return Totals(
        subtotal=subtotal,
        discount=discount,
        tax=sum(t.amount for t in per_rate),
        total=subtotal - discount + exclusive,
        lines=outs,
        discounts=tuple(discounts),
        tax_amounts=tuple(per_rate),
        untaxed_amount=sum(taxable[i] for i in untaxed) if untaxed else None,
    )


def split_gross(amount: int, groups: list[tuple[int, tuple[str, ...]]], rates: list[RateIn]) -> Totals:
    """A credit of ``amount`` (minor units, tax included) over an invoice's VAT groups, as a
    credit note "by amount" makes it (SPEC §11): ``groups`` are (what the invoice charged for the
    group, tax included; the keys of the rates its lines pay), and each group gets its share of
    ``amount`` in proportion (each share its exact part rounded down or up, adding up exactly).

    A share is taken apart like an inclusive price (step 3): its net is share x 100 / (100 + P)
    rounded half away from zero, its tax the rest, split over the group's rates. Each result
    line (one per group) then carries the rates' real inclusive flags: its amount is the net
    plus its inclusive tax, and its exclusive tax is added, so the total is ``amount`` exactly
    and every rate's tax is within one minor unit of its basis x rate (the module docstring)."""
    shares = _allocate(amount, [charged for charged, _ in groups])
    as_inclusive = [RateIn(r.key, r.percentage_e4, True) for r in rates]
    by_key = {r.key: r for r in rates}
    split = compute([LineIn(share, keys) for share, (_, keys) in zip(shares, groups, strict=True)], [], as_inclusive)
    lines: list[LineOut] = []
    line_amounts: list[int] = []
    for share, out in zip(shares, split.lines, strict=True):
        taxes = tuple(TaxAmount(t.rate, t.amount, by_key[t.rate].inclusive, out.taxable_amount)
                      for t in out.tax_amounts)
        exclusive = sum(t.amount for t in taxes if not t.inclusive)
        line_amounts.append(share - exclusive)
        lines.append(LineOut(0, out.taxable_amount, out.taxable_amount, taxes))
    per_rate = tuple(TaxAmount(t.rate, t.amount, by_key[t.rate].inclusive, t.taxable_amount) for t in split.tax_amounts)
    subtotal = sum(line_amounts)
    return Totals(subtotal=subtotal, discount=0, tax=split.tax, total=amount, lines=tuple(lines), discounts=(),
                  tax_amounts=per_rate, untaxed_amount=split.untaxed_amount)
