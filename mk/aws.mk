# aws runtime: Lambda handlers, S3/DynamoDB stores, the state machine (ASL), the REST API's OpenAPI document.
# Everything here runs offline (moto); only sam-invoke needs Docker + the SAM CLI (not in CI).
.PHONY: openapi openapi-check test-aws

openapi: $(STAMP) ## regenerate services/api/openapi.json from the API resolver (commit it; CI fails on drift)
	$(BIN)/python -m storyreel.services.api.openapi

openapi-check: $(STAMP) ## fail when services/api/openapi.json differs from the resolver
	$(BIN)/python -m pytest tests/aws/test_openapi.py -q -k committed

test-aws: $(STAMP) ## AWS runtime tests: handlers, stores, the real ASL in moto, API + schemathesis (offline)
	$(BIN)/python -m pytest tests/aws -q $(PYTEST_ARGS)

