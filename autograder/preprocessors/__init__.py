"""The course's steps in nbgrader's autograde pipeline, one file per step (as nbgrader keeps its own).

nbgrader autogrades in two phases, each an ordered list of preprocessors: *sanitize* (restore what a
learner may have changed) and *autograde* (execute, then save the scores). The course adds:

sanitize:  ClearOutput, DeduplicateIds, OverwriteKernelspec, **RestoreGradedCells**, OverwriteCells, CheckCellMetadata
autograde: **InjectHiddenCases**, **SandboxedExecute**, **VerifyFunctions**, IgnorePattern, ClearMetadataPreprocessor,
           LimitOutput, SaveAutoGrades, **CourseLatePenalties**, **WriteResults**, CheckCellMetadata

Ordering rules: RestoreGradedCells must come before OverwriteCells (which trusts the cell flags it
restores); VerifyFunctions must come after SandboxedExecute (it reads the test cells' outputs) and before
SaveAutoGrades (which scores those outputs); CourseLatePenalties after SaveAutoGrades (it lowers the
scores saved).

The steps: :mod:`.restore` (RestoreGradedCells), :mod:`.hidden_cases` (InjectHiddenCases),
:mod:`.execute` (SandboxedExecute), :mod:`.verify_functions` (VerifyFunctions), :mod:`.late`
(CourseLatePenalties) and :mod:`.write_results` (WriteResults); :mod:`.cells` holds the small helpers
about cells they share.
"""

from __future__ import annotations

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from .cells import tested_function
from .execute import (
    GRADER_FAULTS,
    KERNEL_NAME,
    SKIPPED_NOTE,
    GraderFault,
    SandboxedExecute,
    SandboxKernelManager,
    cells_to_skip,
    tagged_skip_when_grading,
)
from .hidden_cases import RESET_HOOKS, InjectHiddenCases
from .late import CourseLatePenalties
from .restore import RestoreGradedCells
from .verify_functions import VerifyFunctions
from .write_results import WriteResults

__all__ = [
    "AUTOGRADE",
    "GRADER_FAULTS",
    "KERNEL_NAME",
    "RESET_HOOKS",
    "SANITIZE",
    "SKIPPED_NOTE",
    "CourseLatePenalties",
    "GraderFault",
    "InjectHiddenCases",
    "RestoreGradedCells",
    "SandboxKernelManager",
    "SandboxedExecute",
    "VerifyFunctions",
    "WriteResults",
    "cells_to_skip",
    "tagged_skip_when_grading",
    "tested_function",
]

SANITIZE = [ClearOutput, DeduplicateIds, OverwriteKernelspec, RestoreGradedCells, OverwriteCells, CheckCellMetadata]
AUTOGRADE = [InjectHiddenCases, SandboxedExecute, VerifyFunctions, IgnorePattern, ClearMetadataPreprocessor,
             LimitOutput, SaveAutoGrades, CourseLatePenalties, WriteResults, CheckCellMetadata]
