"""Manager and client dashboards: aggregates, drill-down, CSV export."""
