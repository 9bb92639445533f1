"""The autograder of the course *Logistic Regression with a Neural Network Mindset*.

Built on nbgrader: ``course release`` generates the student notebooks, ``course grade`` autogrades
submissions through nbgrader's pipeline (with the function verification of :mod:`autograder.preprocessors`),
``course feedback`` and ``course export`` report the results, ``course check`` lets a learner grade
their own notebook offline with the same engine.
"""

__version__ = "0.1.0"

import sys

# nbformat loads jsonschema, which imports the optional rfc3987_syntax when it is installed; that module
# builds an IRI grammar on import, 2 s of every `course` command and every grading process. Nothing in
# the course validates IRIs, so the module is marked unavailable (jsonschema then skips those formats).
sys.modules.setdefault("rfc3987_syntax", None)
