"""The verdict boundary: checks run in a judge process that never imports or runs the learner's code.

The learner's file runs in a second process, the learner process (``host``),
forked by the judge before any learner code exists. The judge reaches it only
through ``judge.LearnerProcess``: arguments go over by value, values come back
through an unpickler restricted to a short list of named classes (``values``),
and objects of the learner's own classes stay behind handles.
See ``docs/design/verdict-boundary.md``.
"""
