"""Invoice arithmetic, pure and exact (SPEC §3 finalize order).

Order: each line's amount is quantity x unit amount; discounts come off the
subtotal (each coupon off what the previous ones left) and are spread over
the lines in proportion to their amounts; tax is then computed per line, per
rate, on the discounted line amount and rounded half away from zero to the
minor unit. Inclusive tax is the part of the amount that was tax already:
with inclusive rates summing to P on a gross amount A, the net is
A x 100 / (100 + P) rounded half away from zero, and the tax A - net is split
over the rates so that rate i's share is its exact part A x p_i / (100 + P)
rounded down or up (less than one minor unit from it; exactly it when that is
whole) and the shares add up to exactly A - net (largest remainder, ties to
the earlier rate); it adds nothing to the total. Exclusive tax applies to that
net and is added to the total.

All arithmetic is on integers (minor units, fixed-point percentages): no
float ever touches money.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LineIn:
    amount: int  # minor units, >= 0


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
    amount: int
    inclusive: bool


@dataclass(frozen=True, slots=True)
class LineOut:
    discount_amount: int
    tax_amounts: tuple[TaxAmount, ...]


@dataclass(frozen=True, slots=True)
class Totals:
    subtotal: int
    discount: int
    tax: int
    total: int
    lines: tuple[LineOut, ...]
    discounts: tuple[tuple[str, int], ...]  # (coupon key, amount)
    tax_amounts: tuple[TaxAmount, ...]  # per rate, summed over lines


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


def compute(lines: list[LineIn], coupons: list[CouponIn], rates: list[RateIn]) -> Totals:
    """Totals of an invoice: discounts, then tax per line; see the module docstring."""
    subtotal = sum(line.amount for line in lines)
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

    outs: list[LineOut] = []
    per_rate: dict[str, int] = {rate.key: 0 for rate in rates}
    exclusive = inclusive = 0
    inclusive_rates = [rate for rate in rates if rate.inclusive]
    inclusive_e4 = sum(rate.percentage_e4 for rate in inclusive_rates)
    for i in range(len(lines)):
        gross = remaining[i]
        net = div_round_half_away(gross * 1_000_000, 1_000_000 + inclusive_e4)
        # Each share is rounded from its exact part of the gross, not from a part of the
        # already rounded gross - net: that would add the net's rounding (up to 1/2) to
        # the share's own, and a share could end more than one minor unit from its part.
        inclusive_shares = iter(_round_parts(gross - net, [gross * rate.percentage_e4 for rate in inclusive_rates],
                                             1_000_000 + inclusive_e4))
        taxes = []
        for rate in rates:
            if rate.inclusive:
                amount = next(inclusive_shares)
                inclusive += amount
            else:
                amount = div_round_half_away(net * rate.percentage_e4, 1_000_000)
                exclusive += amount
            per_rate[rate.key] += amount
            taxes.append(TaxAmount(rate.key, amount, rate.inclusive))
        outs.append(LineOut(line_discounts[i], tuple(taxes)))

    discount = sum(amount for _, amount in discounts)
    return Totals(
        subtotal=subtotal,
        discount=discount,
        tax=exclusive + inclusive,
        total=subtotal - discount + exclusive,
        lines=tuple(outs),
        discounts=tuple(discounts),
        tax_amounts=tuple(TaxAmount(r.key, per_rate[r.key], r.inclusive) for r in rates),
    )
