"""Process documents in, validators and WTForms classes out.

Pure functions and cached compiled objects: no Flask, no database. Like
Flask's ``sansio`` package, everything here can run in any context.
"""

from .cache import CompiledStep, compiled_step, draft_key
from .dictionaries import DictionaryIndex
from .documents import check_dictionary, check_process, check_shape
from .messages import Msg, Problem
from .steps import StepSpec
from .validation import Outcome, validate_step

__all__ = [
    "CompiledStep", "DictionaryIndex", "Msg", "Outcome", "Problem", "StepSpec",
    "check_dictionary", "check_process", "check_shape", "compiled_step", "draft_key", "validate_step",
]
