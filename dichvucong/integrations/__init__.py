"""Adapters to the outside world: payment gateway, postal service, email, SMS.

Each speaks a real protocol over HTTP (or SMTP); in development the other side
is one of our simulators (``dichvucong.simulators``), reached the same way.
"""
