// SPDX-License-Identifier: Apache-2.0
// node scripts/sarif-validate.js SCHEMA FILE...: validate SARIF logs against
// the SARIF 2.1.0 JSON Schema (draft-04) with the Ajv that
// @microsoft/jest-sarif depends on, as its matchers do (formats checked).
// Prints "FILE: valid" or the errors; exits 1 when one is invalid.
'use strict';
const fs = require('fs');
const path = require('path');
const [schemaPath, ...files] = process.argv.slice(2);
const pkg = path.resolve(path.dirname(schemaPath), '..', '..');
const Ajv = require(require.resolve('ajv', { paths: [pkg] }));
const draft4 = require(require.resolve('ajv/lib/refs/json-schema-draft-04.json', { paths: [pkg] }));
const ajv = new Ajv({ schemaId: 'auto', allErrors: true, format: 'full' });
ajv.addMetaSchema(draft4);
const validate = ajv.compile(JSON.parse(fs.readFileSync(schemaPath, 'utf8')));
let bad = 0;
for (const f of files) {
	const log = JSON.parse(fs.readFileSync(f, 'utf8'));
	if (validate(log)) {
		console.log(`${f}: valid`);
	} else {
		bad++;
		for (const e of validate.errors)
			console.log(`${f}: ${e.dataPath || '/'}: ${e.message}`);
	}
}
process.exit(bad ? 1 : 0);
