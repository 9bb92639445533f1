"""nbgrader settings for the course: where each of nbgrader's steps lives."""

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "logistic_regression_course"
c.CourseDirectory.source_directory = "solutions"  # instructor notebooks, with solutions and hidden tests
c.CourseDirectory.release_directory = "notebooks"  # generated student notebooks, committed
# submitted/, autograded/, feedback/ and gradebook.db keep nbgrader's defaults and are git-ignored.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.egg-info"]
