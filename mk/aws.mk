# aws runtime: Lambda handlers, S3/DynamoDB stores, the state machine (ASL), the REST API's OpenAPI document.
# Everything here runs offline (moto); only sam-invoke needs Docker + the SAM CLI (not in CI).
.PHONY: openapi openapi-check test-aws

openapi: $(STAMP) ## regenerate services/api/openapi.json from the API resolver (commit it; CI fails on drift)
	$(BIN)/python -m services.api.openapi

openapi-check: $(STAMP) ## fail when services/api/openapi.json differs from the resolver
	$(BIN)/python -m pytest tests/aws/test_openapi.py -q -k committed

test-aws: $(STAMP) ## AWS runtime tests: handlers, stores, the real ASL in moto, API + schemathesis (offline)
	$(BIN)/python -m pytest tests/aws -q $(PYTEST_ARGS)

# `make sam-invoke STAGE=Transcribe` runs one Lambda of the synthesized template with events/<stage>.json.
# mk/infra.mk (the CDK side) defines it next to `synth`; this fallback only exists while infra.mk does not.
ifeq ($(wildcard mk/infra.mk),)
SAM ?= sam
CDK_OUT ?= cdk.out
.PHONY: sam-invoke
sam-invoke: ## sam local invoke STAGE=<FunctionId> with events/<stage>.json (needs Docker, SAM CLI, make synth)
	@test -n "$(STAGE)" || { echo "usage: make sam-invoke STAGE=Transcribe (events/transcribe.json)"; exit 2; }
	$(SAM) local invoke -t $(CDK_OUT)/Storyreel.template.json -e events/$(shell echo $(STAGE) | tr A-Z a-z).json \
	  $$($(BIN)/python -c "import json;t=json.load(open('$(CDK_OUT)/Storyreel.template.json'));print(next(k for k,v in t['Resources'].items() if v['Type']=='AWS::Lambda::Function' and v.get('Metadata',{}).get('aws:cdk:path','').endswith('/$(STAGE)/Resource')))")
endif
