"""Where the dbt project is and which rule folder it builds with.

dbt reads the company's rule seeds from seeds/rules unless COST_MODEL_RULES names another folder
(dbt_project.yml seed-paths and macros/rules_file.sql read the same variable); the demo builds
the sample company with its example rules.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
RULES_ENV = "COST_MODEL_RULES"
DEFAULT_RULES = "seeds/rules"
SAMPLE_RULES = "seeds/examples/sample_company"


def rules_folder() -> str:
    """The rule-seed folder dbt builds with, relative to the project (as messages name it)."""
    return os.environ.get(RULES_ENV, "").rstrip("/") or DEFAULT_RULES
