"""``pgolf gate``: one verdict, with evidence, on a pull request to the challenge repository.

The pull request is read only through git objects (:mod:`pgolf_cli.gate.git`); its diff shape
is checked (:mod:`pgolf_cli.gate.shape`), its new folder is read file by file
(:mod:`pgolf_cli.gate.folder`), verified, audited and compared with the best existing record
(:mod:`pgolf_cli.gate.run`), and the result is rendered for people, PR comments, CI and code
scanning (:mod:`pgolf_cli.report.gate`). Nothing from the pull request is executed or imported.
"""
