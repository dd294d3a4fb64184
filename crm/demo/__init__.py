"""Demo data: the February 2024 Moroccan digital trade mission to Houston and Silicon
Valley, loaded through the operations functions (``flask --app wsgi crm demo``)."""

from crm.demo.data import DEMO_PASSWORD, DEMO_USERS
from crm.demo.loader import DemoReport, load_demo

__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "DemoReport", "load_demo"]
