import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IHorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IService } from "kubernetes-models/v1/Service";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { loadConfig } from "../../src/app/config/config.js";
import { repositoryRoot } from "../helpers/image-commands.js";
import { requireOnPath } from "../helpers/tools.js";

/** One object of kustomize's output. */
interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string };
}

const base = "deploy/kubernetes/base";
const sentinel = "deploy/kubernetes/overlays/sentinel";

/** `kubectl kustomize <folder>`: the objects it renders (Debian's kubectl 1.20 and later). */
function render(folder: string): Manifest[] {
  const result = spawnSync(requireOnPath("kubectl", "kubernetes-client"), ["kustomize", folder], {
    cwd: repositoryRoot,
    encoding: "utf8",
  });
  if (result.status !== 0) {
    throw new Error(`kubectl kustomize ${folder} failed:\n${result.stderr}`);
  }
  return parseAllDocuments(result.stdout).map((document) => document.toJS() as Manifest);
}

/** The one object of `kind` in `manifests`. */
function only<T>(manifests: readonly Manifest[], kind: string): T {
  const found = manifests.filter((manifest) => manifest.kind === kind);
  expect(found.map(({ metadata }) => metadata.name)).toHaveLength(1);
  return found[0] as T;
}

/**
 * Checks `manifest` against the Kubernetes API's schema (kubernetes-models, generated from
 * Kubernetes 1.27's OpenAPI): required fields, types, formats. Returns the problem, if any.
 */
async function schemaProblem(manifest: Manifest): Promise<string | undefined> {
  const module = (await import(`kubernetes-models/${manifest.apiVersion}/${manifest.kind}`)) as
    | Record<string, new (data: Manifest) => { validate(): void }>
    | undefined;
  const Model = module?.[manifest.kind];
  if (Model === undefined) {
    return `${manifest.apiVersion} ${manifest.kind} is not a Kubernetes kind`;
  }
  try {
    new Model(manifest).validate();
    return undefined;
  } catch (error) {
    return `${manifest.kind} ${manifest.metadata.name}: ${(error as Error).message}`;
  }
}

/**
 * What the JSON schema lets pass: a field Kubernetes does not know (a misspelt
 * `readinesProbe` is dropped by the API server, and the probe with it). Each object becomes a
 * TypeScript literal of the models' type for its kind, whose excess-property check names
 * every unknown field; the TypeScript compiler's output, empty when all are known.
 */
function unknownFields(manifests: readonly Manifest[]): string {
  const folder = mkdtempSync(join(tmpdir(), "keycard-manifests-"));
  symlinkSync(join(repositoryRoot, "node_modules"), join(folder, "node_modules"));
  const source = manifests.map((manifest, index) => {
    const model = `kubernetes-models/${manifest.apiVersion}/${manifest.kind}`;
    return `import type { I${manifest.kind} as T${index} } from "${model}";\nexport const object${index}: T${index} = ${JSON.stringify(manifest, null, 2)};\n`;
  });
  writeFileSync(join(folder, "manifests.ts"), source.join(""));
  writeFileSync(
    join(folder, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        module: "NodeNext",
        moduleResolution: "NodeNext",
        skipLibCheck: true,
        types: [],
      },
      files: ["manifests.ts"],
    }),
  );
  const tsc = spawnSync(
    join(repositoryRoot, "node_modules/.bin/tsc"),
    ["--project", join(folder, "tsconfig.json")],
    { encoding: "utf8" },
  );
  rmSync(folder, { recursive: true });
  return `${tsc.stdout}${tsc.stderr}`.trim() || (tsc.status === 0 ? "" : `tsc exit ${tsc.status}`);
}

/** keycard's container in the Deployment. */
function keycardContainer(deployment: IDeployment): IContainer {
  const container = deployment.spec?.template.spec?.containers.find(
    ({ name }) => name === "keycard",
  );
  if (container === undefined) {
    throw new Error("the Deployment has no container named keycard");
  }
  return container;
}

/** The settings the ConfigMap gives keycard, as keycard reads them (fake secrets added). */
function keycardSettings(manifests: readonly Manifest[]) {
  const data = only<IConfigMap>(manifests, "ConfigMap").data ?? {};
  return loadConfig({
    ...data,
    KEYCARD_ADMIN_TOKEN: "Hq8vN2xK4pZ7rT1wY6mB3cF9jD5sL0aE",
    KEYCARD_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64"),
  });
}

describe.each([base, sentinel])("Kubernetes manifests: %s", (folder) => {
  const manifests = render(folder);
  const deployment = only<IDeployment>(manifests, "Deployment");
  const container = keycardContainer(deployment);
  const podLabels = deployment.spec?.template.metadata?.labels ?? {};
  const port = container.ports?.find(({ name }) => name === "http");

  it("renders with kubectl kustomize into the expected objects, each valid against Kubernetes' schema", async () => {
    expect(manifests.map(({ kind }) => kind).sort()).toEqual([
      "ConfigMap",
      "Deployment",
      "HorizontalPodAutoscaler",
      "NetworkPolicy",
      "PodDisruptionBudget",
      "Service",
      "ServiceAccount",
    ]);
    const problems = await Promise.all(manifests.map(schemaProblem));
    expect(problems.filter((problem) => problem !== undefined)).toEqual([]);
  });

  it("has no field Kubernetes does not know", () => {
    expect(unknownFields(manifests)).toBe("");
  });

  it("gives keycard settings it accepts, from the ConfigMap kustomize named", () => {
    const configMap = only<IConfigMap>(manifests, "ConfigMap");
    expect(container.envFrom?.map(({ configMapRef }) => configMapRef?.name)).toEqual([
      configMap.metadata?.name,
    ]);
    expect(keycardSettings(manifests).port).toBe(port?.containerPort);
  });

  it("probes the existing endpoints on keycard's port: /healthz for startup and liveness, /readyz for readiness", () => {
    expect(port?.containerPort).toBe(8080);
    expect(container.startupProbe?.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(container.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(container.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: "http" });
    // keycard waits up to 5 s for Redis before it listens: startup must allow for it.
    const startup = container.startupProbe ?? {};
    expect((startup.periodSeconds ?? 10) * (startup.failureThreshold ?? 3)).toBeGreaterThan(10);
  });

  it("lets a terminating pod leave the endpoints, then drain, before Kubernetes kills it", () => {
    const preStop = container.lifecycle?.preStop?.exec?.command ?? [];
    expect(preStop[0]).toBe("sleep");
    const sleep = Number(preStop[1]) * 1_000;
    expect(sleep).toBeGreaterThanOrEqual(3_000);
    const drain = keycardSettings(manifests).shutdownTimeoutMs;
    const grace = (deployment.spec?.template.spec?.terminationGracePeriodSeconds ?? 30) * 1_000;
    expect(grace).toBeGreaterThan(sleep + drain);
  });

  it("takes the admin token and the encryption key from a Secret, never from the manifests", () => {
    for (const [name, key] of [
      ["KEYCARD_ADMIN_TOKEN", "admin-token"],
      ["KEYCARD_ENCRYPTION_KEY", "encryption-key"],
    ]) {
      const variable = container.env?.find((entry) => entry.name === name);
      expect(variable?.value).toBeUndefined();
      expect(variable?.valueFrom?.secretKeyRef).toEqual({ name: "keycard-secrets", key });
    }
    const data = only<IConfigMap>(manifests, "ConfigMap").data ?? {};
    const secret = /^KEYCARD_.*(TOKEN|KEYS?)$|_SECRET$|_PASSWORD$/;
    expect(Object.keys(data).filter((name) => secret.test(name))).toEqual([]);
    expect(manifests.map(({ kind }) => kind)).not.toContain("Secret");
  });

  it("runs as a non-root user on a read-only root filesystem with no privileges, within resources", () => {
    const pod = deployment.spec?.template.spec;
    expect(pod?.securityContext?.runAsNonRoot).toBe(true);
    expect(pod?.securityContext?.runAsUser).toBeGreaterThan(0);
    expect(pod?.automountServiceAccountToken).toBe(false);
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    });
    expect(container.resources?.requests).toMatchObject({
      cpu: expect.any(String),
      memory: expect.any(String),
    });
    expect(container.resources?.limits?.memory).toEqual(expect.any(String));
  });

  it("serves HTTP and gRPC (h2c) from keycard's one port, to the Deployment's pods", () => {
    const service = only<IService>(manifests, "Service");
    expect(service.spec?.selector).toEqual(podLabels);
    expect(
      service.spec?.ports?.map(({ name, targetPort, appProtocol, protocol }) => ({
        name,
        targetPort,
        appProtocol,
        protocol,
      })),
    ).toEqual([
      { name: "http", targetPort: "http", appProtocol: "http", protocol: "TCP" },
      { name: "grpc", targetPort: "http", appProtocol: "kubernetes.io/h2c", protocol: "TCP" },
    ]);
  });

  it("scales the Deployment with the autoscaler, and keeps pods through voluntary disruptions", () => {
    const autoscaler = only<IHorizontalPodAutoscaler>(manifests, "HorizontalPodAutoscaler");
    expect(autoscaler.spec?.scaleTargetRef).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: deployment.metadata?.name,
    });
    const minReplicas = autoscaler.spec?.minReplicas ?? 1;
    expect(minReplicas).toBeGreaterThanOrEqual(2);
    expect(autoscaler.spec?.maxReplicas).toBeGreaterThan(minReplicas);
    // An apply must not reset the count the autoscaler set.
    expect(deployment.spec?.replicas).toBeUndefined();

    const budget = only<IPodDisruptionBudget>(manifests, "PodDisruptionBudget");
    expect(budget.spec?.selector?.matchLabels).toEqual(podLabels);
    expect(budget.spec?.minAvailable).toBeGreaterThanOrEqual(1);
    expect(budget.spec?.minAvailable).toBeLessThan(minReplicas);
  });

  it("lets traffic in on keycard's port only, and out only to DNS and Redis (6379, Sentinel 26379)", () => {
    const policy = only<INetworkPolicy>(manifests, "NetworkPolicy");
    expect(policy.spec?.podSelector.matchLabels).toEqual(podLabels);
    expect(policy.spec?.policyTypes).toEqual(["Ingress", "Egress"]);
    const portsOf = (rules: { ports?: { port?: number | string; protocol?: string }[] }[]) =>
      rules.map((rule) => (rule.ports ?? []).map(({ port, protocol }) => `${protocol} ${port}`));
    expect(portsOf(policy.spec?.ingress ?? [])).toEqual([["TCP 8080"]]);
    expect(portsOf(policy.spec?.egress ?? [])).toEqual([
      ["UDP 53", "TCP 53"],
      ["TCP 6379", "TCP 26379"],
    ]);
  });
});

describe("the Sentinel overlay", () => {
  it("points keycard at Redis Sentinel (a redis+sentinel:// REDIS_URL keycard accepts)", () => {
    const settings = keycardSettings(render(sentinel));
    expect(settings.redisUrl).toMatch(/^redis\+sentinel:\/\/[^/]+:26379\/\w+$/);
    expect(settings.redisDurability.replicas).toBe(1);
    expect(keycardSettings(render(base)).redisUrl).toBe("redis://redis:6379");
  });
});
