"""Operator tools over the engine (lint, test, explain, models): they read decisions and never write configs."""
