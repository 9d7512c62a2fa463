"""Coverage-guided fuzzing of a driver's dispatch routines from a kernel snapshot (`verifier fuzz`).

target.py    the driver started once and restored before each input
coverage.py  edges collected when Unicorn links translated blocks (no Python on old code)
mutate.py    IRP sequences and havoc mutation with a dictionary of the driver's constants
minimize.py  shrinking a finding's input while the same bug check happens
campaign.py  the loop: corpus, findings, hangs
command.py   the command: options, worker processes, status line, report
"""

DEFAULT_TIME = 60.0               # seconds of fuzzing when neither --time nor --runs is given
DEFAULT_INPUT_TIMEOUT = 2.0       # the time budget of one input
