"""Thresholds checked in process: alert states, crossings and recoveries."""
