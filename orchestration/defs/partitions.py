"""The monthly partitioning of the raw assets (one partition per delivery month), and month arithmetic."""

from __future__ import annotations

from datetime import date

import dagster as dg

from orchestration.lib.contract import FIRST_MONTH

monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=f"{FIRST_MONTH}-01")


def month_of_key(partition_key: str) -> str:
    """'2016-03-01' (Dagster's monthly key) -> '2016-03' (the contract's month)."""
    return partition_key[:7]


def key_of_month(month: str) -> str:
    return f"{month}-01"


def months_in_window(window: dg.TimeWindow) -> list[str]:
    """Months of a half-open partition time window, in order."""
    months = []
    year, month = window.start.year, window.start.month
    end = (window.end.year, window.end.month)
    while (year, month) < end:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def shift_months(day: date, months: int) -> date:
    """The first day of the month `months` after (or before, if negative) the month of `day`."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
