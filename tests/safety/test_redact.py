from __future__ import annotations

import base64

import io
import json
import string
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from headroom_ci import actions
from headroom_ci import main as main_module
from headroom_ci.learning import plan as plan_module
from headroom_ci.learning import render
from headroom_ci.commands import sessions as sessions_command
from headroom_ci.errors import FatalError
from headroom_ci.github import body
from headroom_ci.llm import digest
from headroom_ci.mining.findings import Evidence
from headroom_ci.mining.findings import Finding
from headroom_ci.mining.findings import Stats
from headroom_ci.learning.plan import Dropped
from headroom_ci.learning.plan import Plan
from headroom_ci.learning.propose import TargetFile
from headroom_ci.safety.redact import base64_forms
from headroom_ci.safety.redact import looks_random
from headroom_ci.safety.redact import redact
from headroom_ci.safety.redact import Redaction
from headroom_ci.safety.redact import Redactor
from headroom_ci.safety.redact import RULES
from headroom_ci.safety.redact import scan
from headroom_ci.safety.redact import secret_env
from headroom_ci.rules import Recommendation

# Fake credentials are assembled from pieces so that this file does not itself look like it
# leaks one (to secret scanners, push protection, and this very module).
B62 = "aB3dE6gH9jK2xY5zW8vU1tS4rQ7pO0nM9lK8jI7hG6fE5dC4bA3"
GITHUB = "ghp" + "_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
GITHUB_FINE = "github" + "_pat_" + "11ABCDEFG0123456789abc_" + "x1Y2" * 15
GITLAB = "glpat" + "-" + "xY7kLm2Pq9Rs4Tv6Wz1A"
AWS_ID = "AKIA" + "IOSFODNN7EXAMPLE"
AWS_STS = "ASIA" + "Y34FZKBOKMUTVV7A"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
GOOGLE = "AI" + "za" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"
GOOGLE_OAUTH = "ya29" + "." + "a0AfH6SMBx3kLm9Qp2Rs7Tv"
AZURE_KEY = "Ab3+" * 22 + "=="
AZURE_SB_KEY = "k9Lm2Pq7Rs4Tv6Wz1Ax3By5Cz8Dw0Ev2Fu4Gt6Hs8I="
AZURE_SIG = "aB3dE6gH9jK2xY5zW8vU1tS4rQ7pO0nM%2BlK3%3D"
AZURE_AD = "xY7" + "8Q~" + B62[:32]
ANTHROPIC = "sk-ant" + "-api03-" + "Ab3_" * 10
OPENAI_PROJ = "sk-" + "proj-" + "Ab3x" * 12
OPENAI_LEGACY = "sk-" + "T3BlbkFJ" * 6
SLACK = "xox" + "b-1234567890-abcdefghij"
SLACK_HOOK_PATH = "T0123ABCD/B0456EFGH/" + B62[:24]
STRIPE = "sk" + "_live_" + "a1B2c3D4e5F6g7H8i9J0k1L2"
TWILIO = "AC" + "0123456789abcdef" * 2
TWILIO_KEY = "SK" + "fedcba9876543210" * 2
SENDGRID = "SG" + "." + B62[:22] + "." + B62[:43]
NPM = "npm" + "_" + B62[:36]
NPM_LEGACY = "9f8e7d6c-5b4a-3210-fedc-ba9876543210"
PYPI = "pypi" + "-AgEIcHlwaS5vcmc" + "CJDAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMAACKlsicHJvamVjdCJd"
JWT = "eyJ" + "hbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
VAULT = "hvs" + "." + "CAESI" + B62[:40]
HUGGINGFACE = "hf" + "_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567"
DIGITALOCEAN = "dop" + "_v1_" + "0123456789abcdef" * 4
KEY_BODY = ["MIIEowIBAAKCAQEA" + B62[:48], B62[3:51], "Aw=="]
PEM = "\n".join(["-----BEGIN " + "RSA PRIVATE KEY-----", *KEY_BODY, "-----END RSA PRIVATE KEY-----"])


def R(kind: str) -> str:
    return f"[REDACTED:{kind}]"


assert len(SENDGRID) == 3 + 22 + 1 + 43 and len(NPM) == 4 + 36 and len(AWS_SECRET) == 40

# One positive example per table entry (the id starts with its kind) with the exact output.
POSITIVES = [
    pytest.param(f"cat id_rsa\n{PEM}\ndone", f"cat id_rsa\n{R('private-key')}\ndone", id="private-key-rsa"),
    pytest.param("-----BEGIN OPENSSH " "PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\\n-----END OPENSSH PRIVATE KEY-----\\n",
                 R("private-key") + "\\n", id="private-key-openssh-json-escaped"),
    pytest.param('{"type": "service_account", "private_key": "-----BEGIN ' 'PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQ'
                 'EFAASCBKcwggSjAgEAAoIBAQC7\\n-----END PRIVATE KEY-----\\n", "client_email": "x@y.iam.gserviceaccount.com"}',
                 f'{{"type": "service_account", "private_key": "{R("private-key")}\\n", '
                 '"client_email": "x@y.iam.gserviceaccount.com"}', id="private-key-google-service-account"),
    pytest.param("-----BEGIN PGP " "PRIVATE KEY BLOCK-----\n\nlQOYBGMx" + B62 + "\n=a1B2\n-----END PGP PRIVATE KEY BLOCK-----",
                 R("private-key"), id="private-key-pgp"),
    pytest.param("-----BEGIN EC " "PRIVATE KEY-----\nMHcCAQEEIB" + B62 + "\n[output truncated]",
                 R("private-key") + "\n[output truncated]", id="private-key-ec-truncated"),
    pytest.param(f"GH_TOKEN={GITHUB}", f"GH_TOKEN={R('github-token')}", id="github-token-classic"),
    pytest.param(f"{GITHUB_FINE} x", f"{R('github-token')} x", id="github-token-fine-grained"),
    pytest.param(f"remote: https://x-access-token:{'ghs' + GITHUB[3:]}@github.com/o/r",
                 f"remote: https://x-access-token:{R('github-token')}@github.com/o/r", id="github-token-in-url"),
    pytest.param(f'"output": "ok\\n{GITHUB}\\n"', f'"output": "ok\\n{R("github-token")}\\n"', id="github-token-after-json-escape"),
    pytest.param(f"token: {GITLAB}", f"token: {R('gitlab-token')}", id="gitlab-token"),
    pytest.param(f"key {AWS_ID} and {AWS_STS}", f"key {R('aws-access-key-id')} and {R('aws-access-key-id')}",
                 id="aws-access-key-id"),
    pytest.param(f"aws_secret_access_key = {AWS_SECRET}\n", f"aws_secret_access_key = {R('aws-secret-key')}\n",
                 id="aws-secret-key-credentials-file"),
    pytest.param(f'"SecretAccessKey": "{AWS_SECRET}",', f'"SecretAccessKey": "{R("aws-secret-key")}",',
                 id="aws-secret-key-sts-json"),
    pytest.param(f"?key={GOOGLE}&q=1", f"?key={R('google-api-key')}&q=1", id="google-api-key"),
    pytest.param(f"$ gcloud auth print-access-token\n{GOOGLE_OAUTH}", f"$ gcloud auth print-access-token\n{R('google-oauth-token')}",
                 id="google-oauth-token"),
    pytest.param(f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={AZURE_KEY};EndpointSuffix=core.windows.net",
                 f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={R('azure-storage-key')};"
                 "EndpointSuffix=core.windows.net", id="azure-storage-key-connection-string"),
    pytest.param(f"Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey={AZURE_SB_KEY}",
                 f"Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey={R('azure-shared-access-key')}",
                 id="azure-shared-access-key"),
    pytest.param(f"https://a.blob.core.windows.net/c/f?sv=2022-11-02&sp=r&sig={AZURE_SIG}&se=2026",
                 f"https://a.blob.core.windows.net/c/f?sv=2022-11-02&sp=r&sig={R('azure-sas-signature')}&se=2026",
                 id="azure-sas-signature"),
    pytest.param(f"client_secret={AZURE_AD}", f"client_secret={R('azure-ad-client-secret')}", id="azure-ad-client-secret"),
    pytest.param(f"export ANTHROPIC_API_KEY={ANTHROPIC}", f"export ANTHROPIC_API_KEY={R('anthropic-key')}", id="anthropic-key"),
    pytest.param(f"OPENAI_API_KEY='{OPENAI_PROJ}'", f"OPENAI_API_KEY='{R('openai-key')}'", id="openai-key-project"),
    pytest.param(OPENAI_LEGACY, R("openai-key"), id="openai-key-legacy"),
    pytest.param(f"SLACK_BOT={SLACK}", f"SLACK_BOT={R('slack-token')}", id="slack-token"),
    pytest.param(f"VAULT_TOKEN={VAULT}", f"VAULT_TOKEN={R('vault-token')}", id="vault-token"),
    pytest.param(f"huggingface-cli login --token {HUGGINGFACE}", f"huggingface-cli login --token {R('huggingface-token')}",
                 id="huggingface-token"),
    pytest.param(f"doctl auth init -t {DIGITALOCEAN}", f"doctl auth init -t {R('digitalocean-token')}",
                 id="digitalocean-token"),
    pytest.param("curl -u deploy:hunter2pass https://x/api", f"curl -u deploy:{R('cli-user-password')} https://x/api",
                 id="cli-user-password-curl"),
    pytest.param("wget --user=ci:s3cret! x", f"wget --user=ci:{R('cli-user-password')} x", id="cli-user-password-long-flag"),
    pytest.param("mysql -u root -phunter2 shop", f"mysql -u root -p{R('mysql-password')} shop", id="mysql-password"),
    pytest.param("sshpass -p 'hunter2' ssh ci@host", f"sshpass -p '{R('sshpass-password')}' ssh ci@host",
                 id="sshpass-password"),
    pytest.param("docker login -u ci -p hunter2 ghcr.io", f"docker login -u ci -p {R('registry-login-password')} ghcr.io",
                 id="registry-login-password"),
    pytest.param(f"MY_TOKEN_{GITHUB} x-{GITLAB}", f"MY_TOKEN_{R('github-token')} x-{R('gitlab-token')}",
                 id="github-token-after-underscore-or-hyphen"),
    pytest.param(f"curl https://hooks.slack.com/services/{SLACK_HOOK_PATH} -d x",
                 f"curl https://hooks.slack.com/services/{R('slack-webhook')} -d x", id="slack-webhook"),
    pytest.param(f"stripe.api_key = '{STRIPE}'", f"stripe.api_key = '{R('stripe-key')}'", id="stripe-key"),
    pytest.param(f"sid {TWILIO} key {TWILIO_KEY}", f"sid {R('twilio-sid')} key {R('twilio-sid')}", id="twilio-sid"),
    pytest.param(f"SENDGRID={SENDGRID}", f"SENDGRID={R('sendgrid-key')}", id="sendgrid-key"),
    pytest.param(f"npm config set //registry.npmjs.org/:_authToken {NPM}",
                 f"npm config set //registry.npmjs.org/:_authToken {R('npm-token')}", id="npm-token"),
    pytest.param(f"//registry.npmjs.org/:_authToken={NPM_LEGACY}", f"//registry.npmjs.org/:_authToken={R('npmrc-auth')}",
                 id="npmrc-auth"),
    pytest.param(f"password = {PYPI}", f"password = {R('pypi-token')}", id="pypi-token"),
    pytest.param(f"cookie: {JWT}", f"cookie: {R('jwt')}", id="jwt"),
    pytest.param("postgres://admin:hunter2pass@db.internal/x", f"postgres://admin:{R('url-credentials')}@db.internal/x",
                 id="url-credentials"),
    pytest.param("https://bob:p@ss:w0rd@example.com/r.git", f"https://bob:{R('url-credentials')}@example.com/r.git",
                 id="url-credentials-with-at-sign"),
    pytest.param("curl -H 'Authorization: Bearer abc123DEF456ghi789'", f"curl -H 'Authorization: Bearer {R('bearer-token')}'",
                 id="bearer-token"),
    pytest.param('{"headers": {"authorization": "token abc123DEF456ghi789"}}',
                 f'{{"headers": {{"authorization": "token {R("bearer-token")}"}}}}', id="bearer-token-github-scheme"),
    pytest.param("Authorization: Basic dXNlcjpwYXNzd29yZA==", f"Authorization: Basic {R('basic-auth')}", id="basic-auth"),
    pytest.param("password=9f8Kq2LmZx7Tb3Vn", f"password={R('secret-assignment')}", id="secret-assignment-password"),
    pytest.param("api_key: 'aB3dE6gH9jK2xY'", f"api_key: '{R('secret-assignment')}'", id="secret-assignment-yaml"),
    pytest.param('\\"client_secret\\": \\"Zq8Rt4Wm2Np6Ks1V\\"', f'\\"client_secret\\": \\"{R("secret-assignment")}\\"',
                 id="secret-assignment-escaped-json"),
    pytest.param("mysql --password Zq8Rt4Wm2Np6Ks1V -h db", f"mysql --password {R('secret-assignment')} -h db",
                 id="secret-assignment-flag"),
    pytest.param("TWILIO_AUTH_TOKEN=9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e", f"TWILIO_AUTH_TOKEN={R('secret-assignment')}",
                 id="secret-assignment-32-hex"),
    pytest.param("GITHUB_TOKEN=aB3dE6gH9jK2xY secrets: aB3dE6gH9jK2xY SECRET_KEY=aB3dE6gH9jK2xY",
                 f"GITHUB_TOKEN={R('secret-assignment')} secrets: {R('secret-assignment')} SECRET_KEY={R('secret-assignment')}",
                 id="secret-assignment-longer-names"),
]

# One negative example per table entry: text that must come out unchanged.
NEGATIVES = [
    pytest.param("-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A\n-----END PUBLIC KEY-----\n"
                 "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBa\n", id="private-key"),
    pytest.param("ghp_short and github_pat_ in prose, xghp_" + GITHUB[4:], id="github-token"),
    pytest.param("glpat-short", id="gitlab-token"),
    pytest.param("AKIA1234 and akiaiosfodnn7example", id="aws-access-key-id"),
    pytest.param("aws_secret_access_key=${{ secrets.AWS_SECRET_ACCESS_KEY }}", id="aws-secret-key"),
    pytest.param("AIzaShort", id="google-api-key"),
    pytest.param("ya29.short", id="google-oauth-token"),
    pytest.param("AccountName=devstoreaccount1;AccountKey=$STORAGE_KEY;", id="azure-storage-key"),
    pytest.param("SharedAccessKeyName=RootManageSharedAccessKey;", id="azure-shared-access-key"),
    pytest.param("design=abc; ?sig=short&x=1", id="azure-sas-signature"),
    pytest.param("abc1Q~short and speel~VARA_101375237~mh17", id="azure-ad-client-secret"),
    pytest.param("sk-ant-short", id="anthropic-key"),
    pytest.param("use sk-learn-and-pandas-for-everything; risk-assessment-framework-for-teams", id="openai-key"),
    pytest.param("xoxo-hugs, xoxb-short", id="slack-token"),
    pytest.param("hvs.short and ahvs." + VAULT[4:], id="vault-token"),
    pytest.param("hf_short, chf_" + HUGGINGFACE[3:], id="huggingface-token"),
    pytest.param("dop_v1_short", id="digitalocean-token"),
    pytest.param("docker run -u 1000:1000 img; git push -u origin main; curl -u $USER:$PASS x", id="cli-user-password"),
    pytest.param("mysql -p shop; mysql -P3306 -h db", id="mysql-password"),
    pytest.param("sshpass -e ssh host", id="sshpass-password"),
    pytest.param("docker login --password-stdin ghcr.io; docker login -p $CR_PAT", id="registry-login-password"),
    pytest.param("see https://hooks.slack.com/services/ and hooks.slack.com/apps", id="slack-webhook"),
    pytest.param("pk_live_a1B2c3D4e5F6g7H8i9J0k1L2 is publishable; sk_live_ is the prefix", id="stripe-key"),
    pytest.param("TRACE ACCOUNT ac0123456789abcdef0123456789abcdef AC0123456789ABCDEF0123456789ABCDEF", id="twilio-sid"),
    pytest.param("SG.short.x", id="sendgrid-key"),
    pytest.param("npm_config_cache=/tmp/npm", id="npm-token"),
    pytest.param("//registry.npmjs.org/:_authToken=${NPM_TOKEN}", id="npmrc-auth"),
    pytest.param("pip install pypi-AgEshort pypi-upload", id="pypi-token"),
    pytest.param("eyJhbGciOiJIUzI1NiJ9 alone", id="jwt"),
    pytest.param("https://user@host/x postgres://localhost:5432/db postgres://u:$PGPASSWORD@localhost", id="url-credentials"),
    pytest.param("Authorization: Bearer $TOKEN; Authorization: Bearer ${{ secrets.X }}; Bearer <token>", id="bearer-token"),
    pytest.param("Authorization: Basic $CREDS", id="basic-auth"),
    pytest.param("secret_names=aB3dE6gH9jK2xY api_key_id: aB3dE6gH9jK2xY token_type=aB3dE6gH9jK2xY", id="secret-assignment-about"),
    pytest.param("token=deadbeefdeadbeefdeadbeefdeadbeefdeadbeef secret: 123e4567-e89b-12d3-a456-426614174000 "
                 "password=correcthorsebatterystaple token=regenerate_when_expired password=aaaaaaaaAAAA1111 "
                 "API_KEY=process.env.API_KEY max_tokens=1500 token=${{ secrets.GITHUB_TOKEN }}", id="secret-assignment"),
]

# Ordinary code, logs and data that no rule may touch.
FALSE_POSITIVES = [
    pytest.param("commit 3f1c2a9e5b7d4c1e9a2b0d6e8f7a1b2c3d4e5f6a\nMerge: 3f1c2a9 e8f7a1b", id="git-shas"),
    pytest.param("id: 123e4567-e89b-12d3-a456-426614174000, request_id=9f8e7d6c-5b4a-3210-fedc-ba9876543210", id="uuids"),
    pytest.param('data = "SGVsbG8gV29ybGQhIFRoaXMgaXMgYmFzZTY0IHRlc3QgZGF0YQ=="\n'
                 'fixture = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")',
                 id="base64-test-data"),
    pytest.param("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut "
                 "labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation.", id="lorem-ipsum"),
    pytest.param('"integrity": "sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+5V6ARf5SH8wA9ngxEgzkx2uj2uhjRT1K4A4xOg=="',
                 id="npm-lockfile-integrity"),
    pytest.param("FROM python@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n"
                 "--hash=sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", id="docker-and-pip-digests"),
    pytest.param("go.sum: golang.org/x/text v0.3.7 h1:olpwvP2KacW1ZWvsR7uQhoyTYvKAupfQrRGBFM352Gk=", id="go-sum"),
    pytest.param("see https://github.com/acme/shop/actions/runs/123 and http://localhost:8080/api?page=2&limit=50 "
                 "git@github.com:acme/shop.git ssh://git@github.com:22/acme/shop", id="urls-without-credentials"),
    pytest.param("password = input()\npassword = getpass.getpass()\ntoken = os.environ[\"GITHUB_TOKEN\"]\n"
                 "SECRET_KEY = env(\"DJANGO_SECRET_KEY\")\nconst apiKey = process.env.OPENAI_API_KEY;\n"
                 "if (!token) throw new Error('token missing');", id="code-reading-secrets"),
    pytest.param("function refresh(token: RegistryToken, apiKey: ApiKeyConfig): SessionToken {}\n"
                 "class Settings(BaseModel):\n    password: SecretStr\n    api_key: Optional[SecretStr] = None",
                 id="type-annotations"),
    pytest.param('def tokenize(text: str) -> list[Token]:\n    tokens = text.split()\n    return [Token(t) for t in tokens]',
                 id="typical-python"),
    pytest.param('{"usage":{"input_tokens":3,"cache_creation_input_tokens":1543,"cache_read_input_tokens":20517,'
                 '"output_tokens":112},"max_tokens":4096}', id="claude-usage-json"),
    pytest.param('"secret_name": "app-secret", "token_type": "Bearer", "SharedAccessKeyName": "RootManageSharedAccessKey", "token_url": "https://x/oauth/Token2"',
                 id="identifier-values"),
    pytest.param("PWD=/home/runner/work/shop/shop\nOLDPWD=/home/runner/work/Shop2/x9Kq\n$ pwd\n/home/dev/src", id="env-paths"),
    pytest.param("Error: Authorization header is missing; the token expired; rotate the secret", id="prose"),
    pytest.param("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7" + B62 + " dev@laptop", id="ssh-public-key"),
    pytest.param("TASK-1234 disk-usage risk-free ACME SK-II ask-ant-colony", id="prefix-lookalikes"),
    pytest.param(R("github-token") + " password=" + R("secret-assignment"), id="markers"),
]


@pytest.mark.parametrize("text, expected", POSITIVES)
def test_each_rule_redacts_its_secret(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", NEGATIVES)
def test_each_rule_leaves_lookalikes(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize("text", FALSE_POSITIVES)
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert scan(text) == []


def test_every_rule_has_a_positive_and_a_negative_example() -> None:
    kinds = [rule.kind for rule in RULES]
    assert len(set(kinds)) == len(kinds), "kinds are unique: tests and markers name them"
    for kind in kinds:
        assert any(str(p.id).startswith(kind) for p in POSITIVES), kind
        assert any(p.id == kind for p in NEGATIVES), kind


@pytest.mark.parametrize("text, expected", POSITIVES)
def test_redaction_is_idempotent(text: str, expected: str) -> None:
    assert redact(expected) == expected


def test_overlapping_detections_merge_under_the_earliest_rule() -> None:
    assert scan(f"token={GITHUB}") == [Redaction("github-token", 6, 6 + len(GITHUB))]
    assert redact(f"Authorization: Bearer {JWT}") == f"Authorization: Bearer {R('jwt')}"


def test_a_private_key_is_removed_whole_with_its_end_line() -> None:
    out = redact(f"before\n{PEM}\nafter")
    assert out == f"before\n{R('private-key')}\nafter"
    assert not any(line in out for line in KEY_BODY)


def test_raw_jsonl_lines_stay_valid_json() -> None:
    record = {"type": "tool_result", "content": f"$ env\nGH_TOKEN={GITHUB}\nPGPASSWORD=Zq8\"Rt4Wm2Np6Ks1V\n{PEM}\n"}
    line = json.dumps(record)
    out = Redactor.from_config(literals=['Zq8"Rt4Wm2Np6Ks1V']).redact(line)
    decoded = json.loads(out)["content"]
    assert GITHUB not in decoded and "Rt4Wm2Np6Ks1V" not in decoded and KEY_BODY[1] not in decoded
    assert decoded.startswith("$ env\nGH_TOKEN=[REDACTED:github-token]\n")


def test_counts_by_kind() -> None:
    counts: Counter[str] = Counter()
    Redactor().redact(f"{GITHUB} {AWS_ID} {AWS_STS}", counts=counts)
    Redactor().redact(f"{SLACK}", counts=counts)
    assert counts == Counter({"aws-access-key-id": 2, "github-token": 1, "slack-token": 1})


# ── configuration: patterns, literals, environment ─────────────────────────────────────────────

def test_config_literals_and_patterns() -> None:
    r = Redactor.from_config(patterns=[r"acme_[0-9a-f]{16}", r"internal-key: (?P<value>\w+)"],
                             literals=["hunter2hunter2", "correct horse battery"])
    text = "a acme_0123456789abcdef b internal-key: abc c hunter2hunter2 d correct horse battery e"
    assert r.redact(text) == ("a [REDACTED:custom] b internal-key: [REDACTED:custom] c [REDACTED:literal] "
                              "d [REDACTED:literal] e")


def test_literals_are_found_inside_words_json_escapes_and_line_by_line() -> None:
    key = "line-one-of-the-secret\nline-two-of-the-secret"
    r = Redactor.from_config(literals=["p@ss\"w0rd!", key])
    assert r.redact("xp@ss\"w0rd!y") == "x[REDACTED:literal]y"
    assert r.redact(json.dumps({"v": "p@ss\"w0rd!"})) == '{"v": "[REDACTED:literal]"}'
    assert r.redact("head -1 key.txt\nline-two-of-the-secret") == "head -1 key.txt\n[REDACTED:literal]"


def test_the_longest_literal_names_the_span() -> None:
    r = Redactor.from_config(literals=["abcd", "abcdefgh"], env={"API_TOKEN": "xxabcdefghxx"})
    assert r.redact("1 abcd 2 abcdefgh 3 xxabcdefghxx") == "1 [REDACTED:literal] 2 [REDACTED:literal] 3 [REDACTED:env:API_TOKEN]"


def test_hundreds_of_literals() -> None:
    literals = [f"lit{i:04d}-{B62[i % 40:i % 40 + 10]}" for i in range(300)]
    r = Redactor.from_config(literals=literals)
    text = " | ".join(f"x{lit}y" for lit in literals[::7])
    out = r.redact(text)
    assert not any(lit in out for lit in literals)
    assert out.count("[REDACTED:literal]") == len(literals[::7])


@pytest.mark.parametrize("kwargs, message", [
    pytest.param({"patterns": ["("]}, "not a valid regular expression", id="bad-regex"),
    pytest.param({"patterns": ["a*"]}, "matches the empty string", id="empty-match"),
    pytest.param({"literals": ["abc"]}, "shorter than 4", id="short-literal"),
])
def test_bad_config_is_an_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Redactor.from_config(**kwargs)


@pytest.mark.parametrize("name, value, taken", [
    pytest.param("GITHUB_TOKEN", "ghs_abcdefgh12345678", True, id="token"),
    pytest.param("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "eyJ0eXAiOiJKV1Q", True, id="oidc-request-token"),
    pytest.param("DB_PASSWORD", "hunter2hunter2", True, id="password"),
    pytest.param("MYSQL_PWD", "hunter2hunter2", True, id="pwd"),
    pytest.param("AWS_SECRET_ACCESS_KEY", AWS_SECRET, True, id="aws-secret"),
    pytest.param("STRIPE_KEY", "whatever-value", True, id="key-word"),
    pytest.param("SESSION_COOKIE", "s%3Aabcdef.ghij", True, id="cookie"),
    pytest.param("AZURE_STORAGE_CONNECTION_STRING", "DefaultEndpointsProtocol=https;AccountName=a", True,
                 id="connection-string"),
    pytest.param("SENTRY_DSN", "https://abc@o1.ingest.sentry.io/1", True, id="dsn"),
    pytest.param("PATH", "/usr/local/bin:/usr/bin", False, id="path"),
    pytest.param("HOME", "/home/runner", False, id="home"),
    pytest.param("KEYBOARD_LAYOUT", "us-international", False, id="key-inside-a-word"),
    pytest.param("SSH_AUTH_SOCK", "/tmp/ssh-XXXX/agent.123", False, id="socket"),
    pytest.param("ACTIONS_ID_TOKEN_REQUEST_URL", "https://pipelines.actions.githubusercontent.com/x", False, id="url"),
    pytest.param("AWS_ACCESS_KEY_ID", AWS_ID, False, id="id-is-found-by-the-table-anyway"),
    pytest.param("GOOGLE_APPLICATION_CREDENTIALS", "/home/runner/gcp.json", False, id="path-value"),
    pytest.param("TOKEN_ENABLED", "true", False, id="boolean-name-and-value"),
    pytest.param("MAX_TOKENS", "4096", False, id="number"),
    pytest.param("API_TOKEN", "short", False, id="too-short"),
])
def test_secret_env(name: str, value: str, taken: bool) -> None:
    assert secret_env({name: value}) == ([(name, value)] if taken else [])


@pytest.mark.parametrize("prefix", ["", "u", "ci", "x-access-token:"])
def test_env_values_are_redacted_base64_encoded_too(prefix: str) -> None:
    value = "dpl-7f3a9c1eXYZ"
    encoded = base64.b64encode(f"{prefix}{value}:tail".encode()).decode()
    text = Redactor.from_config(env={"DEPLOY_TOKEN": value}).redact(f"data: {encoded}")
    assert "[REDACTED:env:DEPLOY_TOKEN]" in text
    assert text.startswith("data: ") and not any(form in text for form in base64_forms(value))


def test_env_values_are_redacted_by_name() -> None:
    r = Redactor.from_config(env={"DEPLOY_TOKEN": "dpl-7f3a9c1e", "PATH": "/usr/bin:/bin", "HOME": "/home/runner"})
    assert r.redact("PATH=/usr/bin:/bin token dpl-7f3a9c1e") == "PATH=/usr/bin:/bin token [REDACTED:env:DEPLOY_TOKEN]"


@pytest.mark.parametrize("value, expected", [
    pytest.param("9f8Kq2LmZx7Tb3Vn", True, id="random"),
    pytest.param("9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e", True, id="hex-32"),
    pytest.param("3f1c2a9e5b7d4c1e9a2b0d6e8f7a1b2c3d4e5f6a", False, id="sha1"),
    pytest.param("123e4567-e89b-12d3-a456-426614174000", False, id="uuid"),
    pytest.param("settings.SECRET_KEY", False, id="dotted-name"),
    pytest.param("/home/runner/work/Shop2", False, id="path"),
    pytest.param("regenerate_when_expired", False, id="words"),
    pytest.param("RegistryToken", False, id="type-name"),
    pytest.param("ProductionDatabasePassword2024", True, id="mixed-case-words-are-a-guess-toward-hiding"),
    pytest.param("E6x7UOSpgRvraG4u98", True, id="random-with-word-like-fragments"),
    pytest.param("aaaaaaaaAAAA1111", False, id="low-entropy"),
])
def test_looks_random(value: str, expected: bool) -> None:
    assert looks_random(value) is expected


# ── properties ─────────────────────────────────────────────────────────────────────────────────

_B62 = string.ascii_letters + string.digits
_HEX = "0123456789abcdef"


def _tok(alphabet: str, n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=n, max_size=n)


SECRETS = st.one_of(
    st.builds(lambda p, b: p + b, st.sampled_from(["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]), _tok(_B62, 36)),
    st.builds(lambda a, b: f"github_pat_{a}_{b}", _tok(_B62, 22), _tok(_B62, 59)),
    st.builds(lambda p, b: p + b, st.sampled_from(["AKIA", "ASIA"]), _tok(string.ascii_uppercase + "234567", 16)),
    st.builds(lambda b: "AIza" + b, _tok(_B62 + "_-", 35)),
    st.builds(lambda b: "sk-ant-api03-" + b, _tok(_B62 + "_-", 93)),
    st.builds(lambda b: "sk-proj-" + b + "A1", _tok(_B62, 40)),
    st.builds(lambda p, b: p + b, st.sampled_from(["xoxb-", "xoxp-"]), _tok(_B62 + "-", 24)),
    st.builds(lambda p, b: p + b, st.sampled_from(["sk_live_", "rk_test_"]), _tok(_B62, 24)),
    st.builds(lambda p, b: p + b, st.sampled_from(["AC", "SK"]), _tok(_HEX, 32)),
    st.builds(lambda a, b: f"SG.{a}.{b}", _tok(_B62 + "_-", 22), _tok(_B62 + "_-", 43)),
    st.builds(lambda b: "npm_" + b, _tok(_B62, 36)),
    st.builds(lambda b: "pypi-AgEIcHlwaS5vcmc" + b, _tok(_B62 + "_-", 60)),
    st.builds(lambda a, b, c: f"eyJ{a}.eyJ{b}.{c}", _tok(_B62, 20), _tok(_B62, 30), _tok(_B62 + "_-", 43)),
    st.sampled_from([GITHUB, GITHUB_FINE, GITLAB, GOOGLE_OAUTH, OPENAI_LEGACY, PEM, SLACK, JWT]),
)
# Text around a planted secret: anything but brackets (a pre-existing "[REDACTED:…]" marker is
# respected, by design), separated from it as a token is.
AROUND = st.text(alphabet=st.characters(exclude_characters="[]", codec="utf-8"), max_size=60)
SEPARATORS = st.sampled_from([" ", "\n", '"', "'", "=", ": ", "\\n", "(", "`"])


@settings(max_examples=300, deadline=None)
@given(before=AROUND, after=AROUND, secret=SECRETS, left=SEPARATORS, right=SEPARATORS)
def test_a_planted_secret_never_survives(before: str, after: str, secret: str, left: str, right: str) -> None:
    text = before + left + secret + right + after
    out = redact(text)
    assert secret not in out
    assert redact(out) == out


@settings(max_examples=300, deadline=None)
@given(before=AROUND, after=AROUND,
       literal=st.text(alphabet=st.characters(exclude_characters="[]", codec="utf-8"), min_size=4, max_size=30))
def test_a_literal_never_survives_wherever_it_is(before: str, after: str, literal: str) -> None:
    assume(literal not in "[REDACTED:literal]" and literal.strip())
    r = Redactor.from_config(literals=[literal])
    out = r.redact(before + literal + after)
    assert literal not in out.replace("[REDACTED:literal]", "[]")
    assert r.redact(out) == out


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=300))
def test_redaction_of_any_text_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(st.one_of(st.sampled_from(["token=", "password: ", "Authorization: Bearer ", "https://u:",
                                                 "@host", "-----BEGIN RSA PRIVATE KEY-----", "\\n", "\n", " ", "sk-",
                                                 "ghp_", "eyJ", "AccountKey=", "sig=", "&", "?", "\\"]),
                                 st.text(alphabet=_B62 + "+/=._-", max_size=50)), max_size=12))
def test_redaction_of_secret_shaped_text_is_idempotent(parts: list[str]) -> None:
    text = "".join(parts)
    once = redact(text)
    assert redact(once) == once


# ── every output ───────────────────────────────────────────────────────────────────────────────

# Secrets as a transcript would hold them; none may reach any output.
CORPUS = [GITHUB, GITHUB_FINE, AWS_ID, AWS_SECRET, GOOGLE, ANTHROPIC, OPENAI_PROJ, SLACK, STRIPE, TWILIO, SENDGRID,
          NPM, PYPI, JWT, AZURE_KEY, KEY_BODY[1], "hunter2pass", "abc123DEF456ghi789", "9f8Kq2LmZx7Tb3Vn"]
LEAKY = (f"curl -H 'Authorization: Bearer abc123DEF456ghi789' https://admin:hunter2pass@db/x?key={GOOGLE} "
         f"&& export GH={GITHUB} AWS={AWS_ID} aws_secret_access_key={AWS_SECRET} A={ANTHROPIC} O={OPENAI_PROJ} "
         f"S={SLACK} ST={STRIPE} T={TWILIO} SG={SENDGRID} N={NPM} P={PYPI} J={JWT} F={GITHUB_FINE} "
         f"AccountKey={AZURE_KEY}; password=9f8Kq2LmZx7Tb3Vn\n{PEM}")


def _leaky_plan() -> Plan:
    # Built directly, as a plan file from elsewhere could be: nothing redacted on the way in.
    ev = Evidence(session_id="s1", path="run/claude/s1.jsonl", agent="claude", run_id="101",
                  run_url="https://github.com/acme/shop/actions/runs/101", failing=LEAKY, fixing=LEAKY, error=LEAKY)
    finding = Finding(id="F1", fingerprint="ab12" * 4, kind="runner", key=LEAKY, fix=LEAKY, category="module_not_found",
                      detail=LEAKY, sessions=3, runs=2, occurrences=4, peak=1, fixes=3, wasted_tokens=100, evidence=(ev,))
    rec = Recommendation(fingerprint="c8508618d90c0c0f", section="Environment", content="- Use `uv run pytest`.",
                         target="context", tokens_saved=61, evidence_count=3, finding_ids=("F1",))
    return Plan(repo=".", targets=(), recommendations=(rec,), findings=(finding,),
                dropped=(Dropped("deadbeef", f"- {LEAKY}", f"contains {GITHUB}"),),
                stats=Stats(sessions=4, tool_calls=28, failures=14, wasted_tokens=754), skipped=0)


def _assert_clean(out: str) -> None:
    leaked = [s for s in CORPUS if s in out]
    assert not leaked


def test_no_secret_reaches_plan_json() -> None:
    _assert_clean(json.dumps(plan_module.to_dict(_leaky_plan())))


def test_no_secret_reaches_the_pull_request() -> None:
    p = body.Proposal(_leaky_plan(), _leaky_plan().recommendations, (), ("AGENTS.md",), "headroom/learn", "main")
    _assert_clean(body.render(p))
    _assert_clean(body.commit_message(p))


def test_no_secret_reaches_the_terminal_or_the_job_summary(tmp_path: Path) -> None:
    plan = _leaky_plan()
    _assert_clean(render.text(plan, olds=[], applied=False))
    _assert_clean(render.markdown(plan, olds=[]))
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(outputs)}
    actions.add_summary(LEAKY, env=env)
    actions.set_outputs({"x": LEAKY}, env=env)
    log = io.StringIO()
    actions.annotate("error", LEAKY, out=log, env=env)
    _assert_clean(summary.read_text() + outputs.read_text() + log.getvalue())


def test_no_secret_reaches_the_llm_digest() -> None:
    plan = _leaky_plan()
    d = digest.build(plan.findings, plan.stats, targets={"context": TargetFile("AGENTS.md", f"# Notes\ntoken {GITHUB}\n")},
                     budget=8000)
    _assert_clean(d.text)


def test_no_secret_reaches_the_error_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def fail(args: object) -> int:
        raise FatalError(f"cannot read {LEAKY}")

    monkeypatch.setattr(sessions_command, "from_args", fail)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    assert main_module.main(["sessions", "x"]) == 1
    err = capsys.readouterr().err
    assert "headroom-ci: error: cannot read" in err
    _assert_clean(err)


# ── adversarial input ──────────────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("text", [
    pytest.param("password=" + "a" * 200_000 + "!", id="long-value"),
    pytest.param("tokentoken" * 20_000, id="keyword-run"),
    pytest.param("token " * 30_000, id="keywords-without-values"),
    pytest.param("-----BEGIN RSA PRIVATE KEY-----\n" * 5_000, id="headers-without-end"),
    pytest.param("sk-" * 60_000, id="prefix-run"),
    pytest.param("eyJ" * 60_000 + ".", id="jwt-prefix-run"),
    pytest.param(":_auth=" * 30_000, id="npmrc-run"),
    pytest.param("https://a:" * 20_000 + "@", id="url-run"),
    pytest.param("abcdefghij" * 20_000 + "Q1Q", id="letter-run"),
    pytest.param("Authorization: Bearer " * 10_000, id="header-run"),
    pytest.param("x" * 300_000, id="one-long-word"),
])
def test_adversarial_text_is_redacted_in_linear_time(text: str) -> None:
    start = time.perf_counter()
    redact(text)
    assert time.perf_counter() - start < 2.0


def test_the_benchmark_finds_every_planted_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import redact_bench

    assert redact_bench.main(["--size-mb", "1", "--repeat", "1", "--out", str(tmp_path), "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    for name in ("redact", "configured"):
        assert rows[name]["planted"] > 0
        assert rows[name]["missed"] == 0
        assert rows[name]["found"] == rows[name]["planted"]
