# infra: CDK app (infra/), Lambda assets, synth without Docker, cfn-lint, cold-start bench.
# `make synth` needs no Docker and no CDK CLI: the app synthesizes itself (python -m infra.app) into cdk.out
# with cdk-nag's AwsSolutions pack as a validation plugin. `make deploy` uses the CDK CLI from npm.
CDK_OUT      ?= cdk.out
LAMBDA_ASSETS ?= .lambda-assets
CDK_CONTEXT  ?=
CDK          ?= npx --yes aws-cdk@2
# CDK puts a DependsOn on each role next to the GetAtt that already orders it (harmless, W3005)
CFN_LINT_IGNORE ?= W3005

.PHONY: lambda-assets synth cfn-lint deploy infra-test bench-coldstart sam-invoke

lambda-assets: $(STAMP) ## pip-install Lambda deps for arm64/py3.13 + copy shared/ services/ -> .lambda-assets/
	$(BIN)/python -m infra.bundle --out $(LAMBDA_ASSETS)

synth: lambda-assets ## synthesize the stack into cdk.out (no Docker); cdk-nag + cfn-lint must pass
	$(BIN)/python -m infra.app --out $(CDK_OUT) $(foreach c,$(CDK_CONTEXT),-c $(c))
	$(MAKE) --no-print-directory cfn-lint

cfn-lint: $(STAMP) ## cfn-lint the synthesized templates in cdk.out
	$(BIN)/cfn-lint --ignore-checks $(CFN_LINT_IGNORE) -- $(CDK_OUT)/*.template.json

deploy: synth ## cdk deploy the synthesized assembly (AWS credentials; Docker only with image_provider=batch)
	$(CDK) deploy --app $(CDK_OUT) --require-approval never

infra-test: $(STAMP) ## CDK assertions, cfn-lint, cdk-nag (synthesizes once, no Docker, no pip)
	$(BIN)/python -m pytest tests/infra -q $(PYTEST_ARGS)

bench-coldstart: $(STAMP) ## per Lambda: asset size + handler import time (fresh interpreter) -> bench/results/
	$(BIN)/python bench/coldstart.py

sam-invoke: synth ## sam local invoke STAGE=<Function id, e.g. Transcribe> with events/<stage>.json (needs Docker + SAM CLI)
	@test -n "$(STAGE)" || { echo "usage: make sam-invoke STAGE=Transcribe (events/transcribe.json)"; exit 2; }
	sam local invoke -t $(CDK_OUT)/Storyreel.template.json -e events/$(shell echo $(STAGE) | tr A-Z a-z).json \
	  $$($(BIN)/python -c "import json,sys;t=json.load(open('$(CDK_OUT)/Storyreel.template.json'));print(next(k for k,v in t['Resources'].items() if v['Type']=='AWS::Lambda::Function' and v['Metadata']['aws:cdk:path'].endswith('/$(STAGE)/Resource')))")
