"""nbgrader settings of the course: nbgrader's own commands and formgrader grade as `course grade` does.

One call applies the whole configuration: autograder.nbgrader_apps.configure (see docs/formgrader.md). Put
settings of your own below it. If the course's grader cannot be applied (nbgrader started outside the
course's environment), autograde, generate_feedback and export refuse instead of running without the
course's sandbox and checks.
"""

from pathlib import Path

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

try:
    from autograder.nbgrader_apps import configure

    configure(c, Path(__file__).resolve().parent)
except Exception as problem:  # noqa: BLE001 (nbgrader ignores a failing config file: refuse explicitly)
    from nbconvert.exporters import HTMLExporter, NotebookExporter
    from nbgrader.converters.base import NbGraderException
    from nbgrader.plugins import ExportPlugin

    REFUSAL = (f"the course's grader could not be applied here ({type(problem).__name__}: {problem}), and nbgrader "
               "alone would grade without the course's sandbox and checks, so it refuses. Run nbgrader from the "
               "course's environment (.venv/bin/nbgrader, after `make setup`), or use .venv/bin/course grade, "
               "feedback or export.")

    def _refuse(self, *args, **kwargs):
        self.log.error(REFUSAL)
        raise NbGraderException(REFUSAL)

    # A converter makes its exporter before it reads or writes any notebook: refusing there changes nothing.
    c.Autograde.exporter_class = type("RefuseToAutograde", (NotebookExporter,), {"__init__": _refuse})
    c.GenerateFeedback.exporter_class = type("RefuseToGenerateFeedback", (HTMLExporter,), {"__init__": _refuse})
    c.ExportApp.plugin_class = type("RefuseToExport", (ExportPlugin,), {"export": _refuse})
