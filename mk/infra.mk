# infra: CDK app (infra/), Lambda assets, synth without Docker, cfn-lint, cold-start bench.
# `make synth` needs no Docker and no CDK CLI: the app synthesizes itself (python -m infra.app) into cdk.out
# with cdk-nag's AwsSolutions pack as a validation plugin. `make deploy` uses the CDK CLI from npm.
CDK_OUT      ?= cdk.out
LAMBDA_ASSETS ?= .lambda-assets
CDK_CONTEXT  ?=
CDK          ?= npx --yes aws-cdk@2
# CDK puts a DependsOn on each role next to the GetAtt that already orders it (harmless, W3005)
CFN_LINT_IGNORE ?= W3005

# Checkers the infra tests run that are not Python packages of ours: asl-validator (npm, pinned by the committed
# package-lock.json) and checkov (its own venv: checkov pins boto3==1.35.49, packaging<24 and networkx<2.7, which
# would downgrade the project's own boto3/pytest if it shared .venv).
NODE_STAMP      := node_modules/.installed
CHECKOV_VERSION ?= 3.3.30
CHECKOV_VENV    ?= .tools/checkov
CHECKOV_STAMP   := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)

.PHONY: lambda-assets synth cfn-lint deploy infra-test bench-coldstart sam-invoke iac-tools

lambda-assets: $(STAMP) ## pip-install Lambda deps for arm64/py3.13 + copy shared/ services/ -> .lambda-assets/
	$(BIN)/python -m infra.bundle --out $(LAMBDA_ASSETS)

synth: lambda-assets ## synthesize the stack into cdk.out (no Docker); cdk-nag + cfn-lint must pass
	$(BIN)/python -m infra.app --out $(CDK_OUT) $(foreach c,$(CDK_CONTEXT),-c $(c))
	$(MAKE) --no-print-directory cfn-lint

cfn-lint: $(STAMP) ## cfn-lint the synthesized templates in cdk.out
	$(BIN)/cfn-lint --ignore-checks $(CFN_LINT_IGNORE) -- $(CDK_OUT)/*.template.json

deploy: synth ## cdk deploy the synthesized assembly (AWS credentials; Docker only with image_provider=batch)
	$(CDK) deploy --app $(CDK_OUT) --require-approval never

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: install Node.js 22+ (the CDK needs it too)" >&2; exit 1; }
	npm ci --no-audit --no-fund
	touch $@

$(CHECKOV_STAMP):
	rm -rf $(CHECKOV_VENV)
	$(PY) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install -q --disable-pip-version-check "checkov==$(CHECKOV_VERSION)"
	touch $@

iac-tools: $(NODE_STAMP) $(CHECKOV_STAMP) ## asl-validator (npm ci) and checkov (own venv) for the infra tests

# the suite's infra tests run both (tests/infra/test_asl.py, test_checks.py)
test: iac-tools

infra-test: $(STAMP) iac-tools ## CDK assertions, cfn-lint, cdk-nag, checkov, asl-validator, hard limits (synthesizes once)
	$(BIN)/python -m pytest tests/infra -q $(PYTEST_ARGS)

bench-coldstart: $(STAMP) ## per Lambda: asset size + handler import time (fresh interpreter) -> bench/results/
	$(BIN)/python bench/coldstart.py

sam-invoke: synth ## sam local invoke STAGE=<Function id, e.g. Transcribe> with events/<stage>.json (needs Docker + SAM CLI)
	@test -n "$(STAGE)" || { echo "usage: make sam-invoke STAGE=Transcribe (events/transcribe.json)"; exit 2; }
	sam local invoke -t $(CDK_OUT)/Storyreel.template.json -e events/$(shell echo $(STAGE) | tr A-Z a-z).json \
	  $$($(BIN)/python -c "import json,sys;t=json.load(open('$(CDK_OUT)/Storyreel.template.json'));print(next(k for k,v in t['Resources'].items() if v['Type']=='AWS::Lambda::Function' and v['Metadata']['aws:cdk:path'].endswith('/$(STAGE)/Resource')))")
