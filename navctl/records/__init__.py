"""The records status.yaml is made of, beyond the run's own (navctl.status holds Status, its steps and
reading/writing): what each format@runner measured (results) and what `navctl loadtest` found (loadtest).
Pydantic models only, no framework imported: `navctl status` and `plan` read them."""
