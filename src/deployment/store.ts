/** Reads and writes `<workdir>/deployment.json`. Writes are atomic (temp file + rename): never half-written. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { deploymentSchema, type Deployment } from './deployment.js';
import { DeploymentError } from './errors.js';

export const DEPLOYMENT_FILE = 'deployment.json';

export async function writeDeployment(workdir: string, d: Deployment): Promise<void> {
  const file = path.join(workdir, DEPLOYMENT_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(d, null, 2) + '\n', { mode: 0o600 });
  await fs.rename(tmp, file);
}

export async function readDeployment(workdir: string): Promise<Deployment> {
  const file = path.join(workdir, DEPLOYMENT_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new DeploymentError(
      'NOT_DEPLOYED',
      `${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'}); run deploy first`,
      { cause: err },
    );
  }
  return parseDeployment(text, file);
}

/** Parses and validates deployment.json's text; `file` names it in errors. Throws DeploymentError BAD_DEPLOYMENT. */
export function parseDeployment(text: string, file: string): Deployment {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new DeploymentError('BAD_DEPLOYMENT', `${file}: not valid JSON`);
  }
  const res = deploymentSchema.safeParse(json);
  if (!res.success) {
    const issue = res.error.issues[0];
    throw new DeploymentError(
      'BAD_DEPLOYMENT',
      `${file}: field ${issue?.path.map(String).join('.') ?? '?'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return res.data;
}
