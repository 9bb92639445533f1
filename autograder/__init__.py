"""The autograder of the course *Logistic Regression with a Neural Network Mindset*.

Built on nbgrader: ``course release`` generates the student notebooks, ``course grade`` autogrades
submissions through nbgrader's pipeline (with the function verification of :mod:`autograder.pipeline`),
``course feedback`` and ``course export`` report the results, ``course check`` lets a learner grade
their own notebook offline with the same engine.
"""

__version__ = "0.1.0"
