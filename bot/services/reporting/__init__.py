"""What the coordinator takes away: the full export, the funding report, the daily overview,
and safe CSV/XLSX tables."""
