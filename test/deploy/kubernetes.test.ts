import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readdirSync, readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { basename, dirname, join, posix, relative } from 'node:path'
import * as k8s from 'kubernetes-models'
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment'
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy'
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget'
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap'
import type { IContainer } from 'kubernetes-models/v1/Container'
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec'
import type { IProbe } from 'kubernetes-models/v1/Probe'
import type { IService } from 'kubernetes-models/v1/Service'
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount'
import t from 'tap'
import { parse as parseYaml, parseAllDocuments } from 'yaml'
import { compilePolicy, mayGetCredential, type Principal } from '../../src/auth/index.js'
import { ConfigError, parseConfig, type BrokerConfig, type ConfigEnv } from '../../src/config/index.js'
import { childEnv } from '../support/child-env.js'
import { build } from '../helper.js'
import { withMemo } from '../../src/memo.js'

/**
 * The Kubernetes manifests under deploy/kubernetes: every document is validated against the
 * Kubernetes OpenAPI schemas (kubernetes-models, offline), the hardening and the wiring
 * between objects are asserted directly, and the broker config each ConfigMap carries is
 * loaded by the broker's own validation, with the environment the container will have.
 */

const root = join(import.meta.dirname, '../..')
const deployDir = join(root, 'deploy/kubernetes')
const brokerImage = 'ghcr.io/example/lwa-broker'

interface KubeObject {
  apiVersion: string
  kind: string
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
  [field: string]: unknown
}

interface Manifest {
  /** Path relative to deploy/kubernetes, and the document's index in the file. */
  file: string
  index: number
  object: KubeObject
}

// --- the validator: every model class kubernetes-models has, by apiVersion and kind ----------

type ModelClass = (new (data: unknown) => { validate(): void }) & { apiVersion: string; kind: string }

function collectModels(namespace: unknown, into = new Map<string, ModelClass>(), depth = 0): Map<string, ModelClass> {
  for (const value of Object.values(namespace as Record<string, unknown>)) {
    const model = value as { apiVersion?: unknown; kind?: unknown } | null
    if (typeof value === 'function' && typeof model?.apiVersion === 'string' && typeof model.kind === 'string') {
      into.set(`${model.apiVersion}/${model.kind}`, value as ModelClass)
    } else if (value !== null && typeof value === 'object' && depth < 3) {
      collectModels(value, into, depth + 1)
    }
  }
  return into
}

const models = collectModels(k8s)

/** Throws the validator's error (field paths and reasons) if the object breaks the schema. */
function validateObject(object: object): void {
  const { apiVersion, kind } = object as { apiVersion?: unknown; kind?: unknown }
  const Model = models.get(`${String(apiVersion)}/${String(kind)}`)
  if (!Model) throw new Error(`no Kubernetes schema for apiVersion ${String(apiVersion)}, kind ${String(kind)}`)
  new Model(object).validate()
}

// --- the manifests ---------------------------------------------------------------------------

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(entry.parentPath, entry.name)
    if (entry.isDirectory()) return yamlFiles(path)
    return /\.ya?ml$/.test(entry.name) ? [path] : []
  }).sort()
}

const isKustomization = (file: string): boolean => basename(file) === 'kustomization.yaml'

/**
 * Every document of every manifest file. YAML 1.1, as Kubernetes' own parser reads it: an
 * unquoted `yes` or `0644` means there what it means here.
 */
function loadManifests(): Manifest[] {
  return yamlFiles(deployDir).filter((f) => !isKustomization(f)).flatMap((path) => {
    const file = relative(deployDir, path)
    return parseAllDocuments(readFileSync(path, 'utf8'), { version: '1.1' }).flatMap((doc, index) => {
      if (doc.errors.length > 0) throw new Error(`${file} document ${index}: ${doc.errors.map((e) => e.message).join('; ')}`)
      const object = doc.toJS() as KubeObject | null
      return object === null ? [] : [{ file, index, object }]
    })
  })
}

const manifests = loadManifests()
const inDir = (dir: string): Manifest[] => manifests.filter((m) => m.file.startsWith(`${dir}/`))
const one = <T>(dir: string, kind: string): T & KubeObject => {
  const found = inDir(dir).filter((m) => m.object.kind === kind)
  if (found.length !== 1) throw new Error(`expected one ${kind} in ${dir}, found ${found.length}`)
  return found[0]!.object as T & KubeObject
}

// --- the image the pods run --------------------------------------------------------------------

/** The runtime stage's ENV, USER and EXPOSE from the Dockerfile (the last stage is the image). */
function imageFacts(): { env: Record<string, string>; user: string; exposed: number[] } {
  const lines = readFileSync(join(root, 'Dockerfile'), 'utf8').replace(/\\\r?\n/g, ' ').split(/\r?\n/)
  const stages: string[][] = []
  for (const line of lines.map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))) {
    if (/^FROM\s/i.test(line)) stages.push([])
    stages.at(-1)?.push(line)
  }
  const runtime = stages.at(-1) ?? []
  const env: Record<string, string> = {}
  for (const line of runtime.filter((l) => /^ENV\s/i.test(l))) {
    for (const [, key, value] of line.slice(3).matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) env[key!] = value!.replace(/^"(.*)"$/, '$1')
  }
  const user = runtime.filter((l) => /^USER\s/i.test(l)).at(-1)?.slice(4).trim() ?? ''
  const exposed = runtime.filter((l) => /^EXPOSE\s/i.test(l)).flatMap((l) => l.slice(6).trim().split(/\s+/).map((p) => Number.parseInt(p, 10)))
  return { env, user, exposed }
}

const image = imageFacts()

// --- helpers over pods -------------------------------------------------------------------------

const podOf = (deployment: IDeployment): IPodSpec => deployment.spec!.template.spec!
const allContainers = (pod: IPodSpec): IContainer[] => [...(pod.initContainers ?? []), ...pod.containers]
const brokerContainers = (pod: IPodSpec): IContainer[] => allContainers(pod).filter((c) => c.image?.startsWith(`${brokerImage}:`) || c.image?.startsWith(`${brokerImage}@`))

const selects = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean =>
  selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v)

/** What the broker process sees: the image's ENV, then the container's literal env values. */
function containerEnv(container: IContainer): Record<string, string> {
  const env = { ...image.env }
  for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = e.value
  return env
}

/** The broker.yaml of the ConfigMap mounted at LWA_BROKER_CONFIG's folder, loaded as the broker will. */
function brokerConfigOf(dir: string, pod: IPodSpec, container: IContainer): { config: BrokerConfig; path: string } {
  const env = containerEnv(container)
  const path = env.LWA_BROKER_CONFIG
  if (!path) throw new Error(`${container.name}: LWA_BROKER_CONFIG is not set`)
  const mount = container.volumeMounts?.find((m) => m.mountPath === posix.dirname(path))
  if (!mount) throw new Error(`${container.name}: nothing is mounted at ${posix.dirname(path)}`)
  const volume = pod.volumes?.find((v) => v.name === mount.name)
  const configMapName = volume?.configMap?.name
  if (!configMapName) throw new Error(`${container.name}: ${posix.dirname(path)} is not a ConfigMap volume`)
  const configMap = inDir(dir).map((m) => m.object).find((o) => o.kind === 'ConfigMap' && o.metadata.name === configMapName) as (IConfigMap & KubeObject) | undefined
  const text = configMap?.data?.[posix.basename(path)]
  if (text === undefined) throw new Error(`ConfigMap ${configMapName} has no key ${posix.basename(path)}`)
  const configEnv: ConfigEnv = { LWA_BROKER_HOST: env.LWA_BROKER_HOST, LWA_BROKER_PORT: env.LWA_BROKER_PORT, LWA_BROKER_LOG_LEVEL: env.LWA_BROKER_LOG_LEVEL }
  return { config: parseConfig(parseYaml(text), path, configEnv), path }
}

/** A caller as its projected service-account token presents it. */
function podCaller(issuer: string, namespace: string, serviceAccount: string): Principal {
  return withMemo({
    issuer,
    subject: `system:serviceaccount:${namespace}:${serviceAccount}`,
    claims: { 'kubernetes.io': { namespace, serviceaccount: { name: serviceAccount }, pod: { name: `${serviceAccount}-7d9f8c6b5-x2k4q` } } },
    expiresAtMs: Date.now() + 600_000,
    issuedAtMs: Date.now(),
    memo: undefined,
  })
}

const loopback = ['127.0.0.1', '::1', 'localhost']

// --- every manifest -----------------------------------------------------------------------------

t.test('every document under deploy/kubernetes validates against the Kubernetes schemas', async (t) => {
  t.ok(models.size > 100, 'the validator knows the Kubernetes API')
  t.ok(manifests.length >= 10, `found ${manifests.length} documents`)
  for (const { file, index, object } of manifests) {
    const name = `${file}#${index} ${object.kind}/${object.metadata?.name}`
    t.doesNotThrow(() => validateObject(object), name)
    // Only GA API versions: betas get removed (policy/v1beta1 PDBs, extensions/v1beta1 ...).
    t.match(object.apiVersion, /^([a-z0-9.-]+\/)?v1$/, `${name}: a GA apiVersion`)
    t.ok(object.metadata?.namespace ?? (object.kind === 'Namespace'), `${name}: names its namespace`)
  }
  const keys = manifests.map((m) => `${m.object.kind}/${m.object.metadata.namespace}/${m.object.metadata.name}`)
  t.same(keys.filter((k, i) => keys.indexOf(k) !== i), [], 'no object is defined twice')
})

t.test('the validator is wired: broken manifests fail', async (t) => {
  const deployment = structuredClone(one<IDeployment>('central', 'Deployment')) as unknown as { spec: { replicas: unknown; template: { spec: { containers: Array<Record<string, unknown>> } } } }
  deployment.spec.replicas = 'two'
  delete deployment.spec.template.spec.containers[0]!.name
  t.throws(() => validateObject(deployment), /replicas must be integer/)
  t.throws(() => validateObject(deployment), /containers\/0 must have required property 'name'|must have required property name/)

  const service = structuredClone(one<IService>('central', 'Service')) as unknown as { spec: { ports: Array<Record<string, unknown>> } }
  service.spec.ports[0]!.port = '80'
  t.throws(() => validateObject(service), /port must be integer/)

  t.throws(() => validateObject({ apiVersion: 'apps/v1', kind: 'Deploymnet' }), /no Kubernetes schema/)
})

t.test('each kustomization lists exactly the manifests beside it', async (t) => {
  const kustomizations = yamlFiles(deployDir).filter(isKustomization)
  t.same(kustomizations.map((f) => relative(deployDir, dirname(f))).sort(), ['central', 'sidecar'])
  for (const file of kustomizations) {
    const k = parseYaml(readFileSync(file, 'utf8')) as { apiVersion: string; kind: string; resources: string[] }
    t.equal(k.kind, 'Kustomization')
    const beside = readdirSync(dirname(file)).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml').sort()
    t.same([...k.resources].sort(), beside, relative(deployDir, file))
  }
})

t.test('every pod meets the "restricted" Pod Security Standard and sets resources', async (t) => {
  const deployments = manifests.filter((m) => m.object.kind === 'Deployment')
  t.equal(deployments.length, 2)
  for (const { file, object } of deployments) {
    const pod = podOf(object as IDeployment)
    t.equal(pod.hostNetwork ?? false, false, `${file}: no host network`)
    t.equal(pod.hostPID ?? false, false, `${file}: no host PID namespace`)
    t.equal(pod.hostIPC ?? false, false, `${file}: no host IPC namespace`)
    t.equal(pod.automountServiceAccountToken, false, `${file}: no default API token in every container`)
    t.equal(pod.securityContext?.runAsNonRoot, true, `${file}: pod runAsNonRoot`)
    t.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${file}: pod seccomp RuntimeDefault`)
    for (const volume of pod.volumes ?? []) {
      const types = Object.keys(volume).filter((k) => k !== 'name')
      t.ok(types.every((type) => ['configMap', 'secret', 'projected', 'emptyDir', 'downwardAPI', 'persistentVolumeClaim', 'ephemeral', 'csi'].includes(type)), `${file}: volume ${volume.name} is allowed (${types.join()})`)
    }
    for (const c of allContainers(pod)) {
      const at = `${file}: ${c.name}`
      const sc = c.securityContext ?? {}
      t.equal(sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot, true, `${at}: runs as non-root`)
      t.not(sc.runAsUser ?? pod.securityContext?.runAsUser, 0, `${at}: not UID 0`)
      t.equal(sc.readOnlyRootFilesystem, true, `${at}: read-only root filesystem`)
      t.equal(sc.allowPrivilegeEscalation, false, `${at}: no privilege escalation`)
      t.not(sc.privileged, true, `${at}: not privileged`)
      t.same(sc.capabilities?.drop, ['ALL'], `${at}: drops every capability`)
      t.same(sc.capabilities?.add ?? [], [], `${at}: adds none`)
      t.equal((sc.seccompProfile ?? pod.securityContext?.seccompProfile)?.type, 'RuntimeDefault', `${at}: seccomp RuntimeDefault`)
      t.ok((c.ports ?? []).every((p) => p.hostPort === undefined), `${at}: no host port`)
      for (const kind of ['requests', 'limits'] as const) {
        t.ok(c.resources?.[kind]?.cpu, `${at}: cpu ${kind}`)
        t.ok(c.resources?.[kind]?.memory, `${at}: memory ${kind}`)
      }
    }
    for (const c of brokerContainers(pod)) {
      // The image's numeric USER, said again in the pod so the kubelet can check it.
      t.equal(`${c.securityContext?.runAsUser}:${c.securityContext?.runAsGroup}`, image.user, `${file}: ${c.name} runs as the image's USER`)
      t.equal(`${pod.securityContext?.runAsUser}:${pod.securityContext?.runAsGroup}`, image.user, `${file}: pod runs as the image's USER`)
    }
  }
})

// --- central -----------------------------------------------------------------------------------

t.test('central: a hardened, probed, spread Deployment of 2+ replicas', async (t) => {
  const deployment = one<IDeployment>('central', 'Deployment')
  const pod = podOf(deployment)
  const labels = deployment.spec?.template.metadata?.labels
  t.ok((deployment.spec?.replicas ?? 1) >= 2, 'replicas >= 2')
  t.ok(selects(deployment.spec?.selector.matchLabels, labels), 'the selector matches the pod labels')
  t.equal(deployment.spec?.strategy?.rollingUpdate?.maxUnavailable, 0, 'rollouts never drop capacity')

  t.equal(pod.containers.length, 1)
  const [broker] = brokerContainers(pod)
  t.ok(broker, 'the broker container runs the broker image')
  if (!broker) return
  t.match(broker.image, /^ghcr\.io\/example\/lwa-broker:\d+\.\d+\.\d+$/, 'a versioned image, not :latest')
  const http = broker.ports?.find((p) => p.name === 'http')
  t.equal(http?.containerPort, 8787, 'container port 8787 named http')
  t.ok(image.exposed.includes(http?.containerPort ?? -1), 'the image EXPOSEs that port')
  t.equal(containerEnv(broker).LWA_BROKER_CONFIG, '/etc/lwa-broker/broker.yaml')

  const ops = broker.ports?.find((p) => p.name === 'ops')
  t.equal(ops?.containerPort, 8788, 'container port 8788 named ops (metrics and probes)')
  t.ok(image.exposed.includes(ops?.containerPort ?? -1), 'the image EXPOSEs that port')
  // On the ops listener: callers filling the caller port's connection cap cannot fail the probes.
  const probe = (p: IProbe | undefined) => `${p?.httpGet?.path} on ${p?.httpGet?.port}`
  t.equal(probe(broker.readinessProbe), '/readyz on ops', 'readiness: /readyz')
  t.equal(probe(broker.livenessProbe), '/healthz on ops', 'liveness: /healthz')
  t.equal(probe(broker.startupProbe), '/healthz on ops', 'startup: /healthz (a slow Secrets Manager delays readiness, not start)')

  t.equal(pod.terminationGracePeriodSeconds, 40)
  const preStopSeconds = broker.lifecycle?.preStop?.sleep?.seconds ?? 0
  t.ok(preStopSeconds > 0 && preStopSeconds < 30, `preStop sleeps ${preStopSeconds}s, inside the grace period`)
  t.notOk(broker.lifecycle?.preStop?.exec, 'no exec preStop: the image has no shell')

  const mount = broker.volumeMounts?.find((m) => m.mountPath === '/etc/lwa-broker')
  t.equal(mount?.readOnly, true, 'the config is mounted read-only')
  t.equal(pod.volumes?.find((v) => v.name === mount?.name)?.configMap?.name, one<IConfigMap>('central', 'ConfigMap').metadata.name)

  const spread = pod.topologySpreadConstraints?.find((c) => c.topologyKey === 'kubernetes.io/hostname' && c.whenUnsatisfiable === 'DoNotSchedule')
  const antiAffinity = pod.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.find((term) => term.topologyKey === 'kubernetes.io/hostname')
  t.ok(spread ?? antiAffinity, 'replicas are kept on different nodes')
  t.ok(selects((spread ?? antiAffinity)?.labelSelector?.matchLabels, labels), 'the spread counts these very pods')

  const annotations = deployment.spec?.template.metadata?.annotations ?? {}
  if (annotations['prometheus.io/scrape'] === 'true') {
    t.equal(Number(annotations['prometheus.io/port']), ops?.containerPort, 'Prometheus scrapes the ops port')
    t.equal(annotations['prometheus.io/path'], '/metrics')
  }
})

t.test('central: the Service, PodDisruptionBudget and NetworkPolicy select the broker pods', async (t) => {
  const deployment = one<IDeployment>('central', 'Deployment')
  const labels = deployment.spec?.template.metadata?.labels
  const namespace = deployment.metadata.namespace

  const service = one<IService>('central', 'Service')
  t.equal(service.spec?.type ?? 'ClusterIP', 'ClusterIP')
  t.ok(selects(service.spec?.selector, labels), 'the Service selects the pods')
  t.match(service.spec?.ports, [{ name: 'http', port: 80, targetPort: 'http' }])
  t.ok(podOf(deployment).containers.some((c) => c.ports?.some((p) => p.name === service.spec?.ports?.[0]?.targetPort)), 'the target port is a named container port')

  const pdb = one<IPodDisruptionBudget>('central', 'PodDisruptionBudget')
  t.equal(pdb.spec?.minAvailable, 1)
  t.ok(selects(pdb.spec?.selector?.matchLabels, labels), 'the PDB selects the pods')
  t.ok((deployment.spec?.replicas ?? 1) > 1, 'minAvailable 1 still lets a node drain evict one replica')

  const policy = one<INetworkPolicy>('central', 'NetworkPolicy')
  t.ok(selects(policy.spec?.podSelector.matchLabels, labels), 'the NetworkPolicy applies to the pods')
  t.same([...(policy.spec?.policyTypes ?? [])].sort(), ['Egress', 'Ingress'])
  const ingress = policy.spec?.ingress ?? []
  const portsFor = (nsLabels: Record<string, string>) => ingress.filter((rule) =>
    (rule.from ?? []).some((peer) => peer.namespaceSelector && !peer.podSelector && selects(peer.namespaceSelector.matchLabels, nsLabels)))
    .flatMap((rule) => (rule.ports ?? []).map((p) => p.port)).sort()
  t.same(portsFor({ 'lwa-broker/client': 'true', 'kubernetes.io/metadata.name': 'ads' }), [8787], 'client namespaces may call on 8787, and cannot scrape')
  t.same(portsFor({ 'kubernetes.io/metadata.name': 'monitoring' }), [8788], 'the monitoring namespace may scrape the ops port, and nothing else')
  t.same(portsFor({ 'kubernetes.io/metadata.name': 'random' }), [], 'other namespaces may not')
  t.ok(ingress.every((rule) => (rule.from ?? []).length > 0 && (rule.ports ?? []).length > 0), 'no rule admits everyone or every port')
  const egressPorts = (policy.spec?.egress ?? []).flatMap((rule) => (rule.ports ?? []).map((p) => `${p.protocol}/${p.port}`))
  t.ok(egressPorts.includes('UDP/53') && egressPorts.includes('TCP/53'), 'DNS')
  t.ok(egressPorts.includes('TCP/443'), 'HTTPS to LWA, Secrets Manager, STS and the OIDC issuer')
  t.ok((policy.spec?.egress ?? []).every((rule) => (rule.ports ?? []).length > 0), 'egress is limited to named ports')

  const ns = manifests.find((m) => m.object.kind === 'Namespace' && m.object.metadata.name === namespace)?.object
  t.equal(ns?.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted', 'the namespace enforces the restricted Pod Security Standard')
  t.ok(inDir('central').every((m) => (m.object.metadata.namespace ?? m.object.metadata.name) === 'lwa-broker'), 'everything lives in lwa-broker')
})

t.test('central: the ServiceAccount carries the IRSA role and documents Pod Identity', async (t) => {
  const deployment = one<IDeployment>('central', 'Deployment')
  const account = one<IServiceAccount>('central', 'ServiceAccount')
  t.equal(podOf(deployment).serviceAccountName, account.metadata.name)
  t.equal(account.metadata.namespace, deployment.metadata.namespace)
  t.equal(account.metadata.annotations?.['eks.amazonaws.com/role-arn'], 'arn:aws:iam::123456789012:role/lwa-broker')
  t.match(readFileSync(join(deployDir, 'central/serviceaccount.yaml'), 'utf8'), /Pod Identity[\s\S]*create-pod-identity-association/, 'the alternative is explained')
})

t.test('central: broker.yaml passes the broker\'s own validation and admits the example callers', async (t) => {
  const deployment = one<IDeployment>('central', 'Deployment')
  const pod = podOf(deployment)
  const [broker] = brokerContainers(pod)
  const { config } = brokerConfigOf('central', pod, broker!)
  t.equal(config.mode, 'central')
  t.notOk(loopback.includes(config.listen.host), 'listens beyond loopback, so the Service reaches it')
  t.equal(config.listen.port, broker!.ports?.find((p) => p.name === 'http')?.containerPort, 'listens on the container port')
  t.equal(config.ops.port, broker!.ports?.find((p) => p.name === 'ops')?.containerPort, 'the ops listener on its container port')
  t.notOk(loopback.includes(config.ops.host), 'beyond loopback, so Prometheus and the kubelet reach it')
  t.equal(config.secrets.backend, 'aws')
  t.equal(config.secrets.region, 'us-east-1')
  t.equal(config.audit.destination, 'stdout')
  const [issuer] = config.issuers
  t.match(issuer, { issuer: /^https:\/\/oidc\.eks\.us-east-1\.amazonaws\.com\/id\//, audiences: ['lwa-broker'], algorithms: ['RS256'], jwks: { discovery: true } })
  t.match(config.credentials, {
    'ads-acme-na': { api: 'ads', grant: 'refresh_token' },
    'sp-seller-acme-eu': { api: 'sp-api', appSecret: String, grantSecret: String },
    'sp-grantless-notifications': { api: 'sp-api', grant: 'client_credentials', scope: String },
  })

  const policy = compilePolicy(config.policy)
  const may = (ns: string, sa: string, credential: string) => mayGetCredential(policy, podCaller(issuer!.issuer, ns, sa), credential).allowed
  t.ok(may('ads', 'ads-reporter', 'ads-acme-na'), 'the Ads reporter gets Ads credentials')
  t.notOk(may('ads', 'ads-reporter', 'sp-seller-acme-eu'), '... and no SP-API one')
  t.ok(may('orders', 'order-sync', 'sp-seller-acme-eu'))
  t.ok(may('notifications', 'anything', 'sp-grantless-notifications'), 'a namespace-wide rule')
  t.notOk(may('other', 'ads-reporter', 'ads-acme-na'), 'default deny')
})

// --- sidecar -----------------------------------------------------------------------------------

t.test('sidecar: the broker is a native sidecar on loopback and the app has a projected lwa-broker token', async (t) => {
  const deployment = one<IDeployment>('sidecar', 'Deployment')
  const pod = podOf(deployment)
  t.equal(deployment.metadata.namespace, 'ads')
  t.same(brokerContainers(pod).map((c) => c.name), ['lwa-broker'], 'one broker container')
  const sidecar = pod.initContainers?.find((c) => c.name === 'lwa-broker')
  t.ok(sidecar, 'the broker is an init container')
  t.equal(sidecar?.restartPolicy, 'Always', '... with restartPolicy Always: a native sidecar')
  t.notOk(pod.containers.some((c) => c.image?.startsWith(brokerImage)), 'not a plain second container')
  if (!sidecar) return

  // Kubelet HTTP and TCP probes come from the node, and sidecar mode refuses non-loopback peers.
  for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe'] as const) {
    t.notOk(sidecar[kind]?.httpGet ?? sidecar[kind]?.tcpSocket ?? sidecar[kind]?.grpc, `${kind}: not a network probe from the node`)
  }
  t.ok(sidecar.startupProbe?.exec, 'a startup probe (it also holds the app back until the broker is ready)')
  t.notOk(sidecar.ports?.length, 'no container port: nothing outside the pod should look for one')

  const { config } = brokerConfigOf('sidecar', pod, sidecar)
  t.equal(config.mode, 'sidecar')
  t.equal(config.listen.host, '127.0.0.1', 'loopback, as the image and the container leave the config in charge')

  const [app] = pod.containers
  const appEnv = Object.fromEntries((app?.env ?? []).map((e) => [e.name, e.value]))
  t.equal(appEnv.LWA_BROKER_URL, `http://127.0.0.1:${config.listen.port}`, 'the app is told where the sidecar listens')
  t.match(appEnv.NO_PROXY, /127\.0\.0\.1/, 'loopback calls bypass any proxy')

  const tokenVolume = pod.volumes?.find((v) => v.projected?.sources?.some((s) => s.serviceAccountToken?.audience === 'lwa-broker'))
  const token = tokenVolume?.projected?.sources?.find((s) => s.serviceAccountToken)?.serviceAccountToken
  t.match(token, { audience: 'lwa-broker', expirationSeconds: 3600, path: 'token' }, 'a projected token for the broker\'s audience')
  const mount = app?.volumeMounts?.find((m) => m.name === tokenVolume?.name)
  t.equal(mount?.mountPath, '/var/run/secrets/lwa-broker')
  t.equal(mount?.readOnly, true)
  t.equal(appEnv.LWA_BROKER_TOKEN_FILE, `${mount?.mountPath}/${token?.path}`, 'the app is told where its token is')
  t.notOk(sidecar.volumeMounts?.some((m) => m.name === tokenVolume?.name), 'the broker does not need the caller\'s token')

  const [issuer] = config.issuers
  t.ok(issuer?.audiences.includes(token?.audience ?? ''), 'the broker accepts the token\'s audience')
  t.ok(issuer?.maxTokenAgeSeconds === undefined || (token?.expirationSeconds ?? Infinity) <= issuer.maxTokenAgeSeconds, 'no valid token is older than maxTokenAgeSeconds')
  const policy = compilePolicy(config.policy)
  const account = one<IServiceAccount>('sidecar', 'ServiceAccount')
  t.equal(pod.serviceAccountName, account.metadata.name)
  const caller = podCaller(issuer!.issuer, deployment.metadata.namespace!, account.metadata.name)
  for (const credential of Object.keys(config.credentials)) t.ok(mayGetCredential(policy, caller, credential).allowed, `the app may have ${credential}`)
  t.notOk(mayGetCredential(policy, podCaller(issuer!.issuer, 'ads', 'someone-else'), 'ads-acme-na').allowed, 'no other account may')
})

t.test('sidecar: the broker reads the API server\'s keys with files mounted into it alone; IRSA is for the broker', async (t) => {
  const deployment = one<IDeployment>('sidecar', 'Deployment')
  const pod = podOf(deployment)
  const sidecar = pod.initContainers!.find((c) => c.name === 'lwa-broker')!
  const { config } = brokerConfigOf('sidecar', pod, sidecar)
  const kubernetes = config.issuers[0]?.jwks.kubernetes
  t.match(kubernetes, { apiServer: 'https://kubernetes.default.svc', caFile: String, tokenFile: String })
  for (const file of [kubernetes?.caFile, kubernetes?.tokenFile]) {
    const mount = sidecar.volumeMounts?.find((m) => file?.startsWith(`${m.mountPath}/`))
    const sources = pod.volumes?.find((v) => v.name === mount?.name)?.projected?.sources ?? []
    const paths = sources.flatMap((s) => [s.serviceAccountToken?.path, ...(s.configMap?.items ?? []).map((i) => i.path)])
    t.ok(mount && paths.includes(posix.relative(mount.mountPath, file!)), `${file} is mounted into the broker`)
    const apiToken = sources.find((s) => s.serviceAccountToken)?.serviceAccountToken
    if (apiToken) t.equal(apiToken.audience, undefined, 'the API token has the API server\'s own audience')
    for (const c of pod.containers) t.notOk(c.volumeMounts?.some((m) => m.name === mount?.name), `${c.name} gets no API token`)
  }

  const account = one<IServiceAccount>('sidecar', 'ServiceAccount')
  t.match(account.metadata.annotations?.['eks.amazonaws.com/role-arn'], /^arn:aws:iam::\d{12}:role\/.+/)
  const skipped = (deployment.spec?.template.metadata?.annotations?.['eks.amazonaws.com/skip-containers'] ?? '').split(',')
  t.same(skipped, pod.containers.map((c) => c.name), 'IRSA credentials go to the broker, not to the app')
})

t.test('sidecar: the exec probes reach a real broker in sidecar mode over loopback', async (t) => {
  const pod = podOf(one<IDeployment>('sidecar', 'Deployment'))
  const sidecar = pod.initContainers!.find((c) => c.name === 'lwa-broker')!
  const { config } = brokerConfigOf('sidecar', pod, sidecar)
  const h = await build(t, { config: (c) => ({ ...c, mode: 'sidecar', listen: { host: '127.0.0.1', port: 0 } }) })
  await h.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = h.app.server.address() as AddressInfo

  // Why exec: what the kubelet's httpGet would be, a peer on the node's address, is refused.
  t.equal((await h.app.inject({ url: '/readyz', remoteAddress: '10.0.0.1' })).statusCode, 403, 'an httpGet from the node is refused')

  /** Runs a probe's command as the kubelet would, with this test's broker port; the exit code. */
  const runProbe = async (probe: IProbe | undefined, targetPort: number): Promise<number | null> => {
    const command = probe?.exec?.command ?? []
    t.equal(command[0], 'node', 'the probe needs nothing but node (the image has no shell)')
    const script = command.slice(1).join(' ')
    t.match(script, `http://127.0.0.1:${config.listen.port}/`, 'the probe calls the configured loopback address')
    const child = spawn(process.execPath, command.slice(1).map((a) => a.replace(`127.0.0.1:${config.listen.port}`, `127.0.0.1:${targetPort}`)), { env: childEnv(), stdio: 'ignore' })
    const [code] = await once(child, 'exit') as [number | null]
    return code
  }
  t.equal(await runProbe(sidecar.startupProbe, port), 0, 'startup probe: /readyz answers 200')
  t.equal(await runProbe(sidecar.livenessProbe, port), 0, 'liveness probe: /healthz answers 200')
  await h.app.close()
  t.equal(await runProbe(sidecar.startupProbe, port), 1, 'and fails when the broker does not answer')
})

t.test('a broken embedded config is caught by the same path', async (t) => {
  const pod = podOf(one<IDeployment>('sidecar', 'Deployment'))
  const sidecar = structuredClone(pod.initContainers!.find((c) => c.name === 'lwa-broker')!)
  t.equal(image.env.LWA_BROKER_HOST, undefined, 'the image sets no listen address: the config decides')
  // An environment that moves a sidecar off loopback must stop it.
  sidecar.env = [...(sidecar.env ?? []), { name: 'LWA_BROKER_HOST', value: '0.0.0.0' }]
  t.throws(() => brokerConfigOf('sidecar', pod, sidecar), ConfigError)
  t.throws(() => brokerConfigOf('sidecar', pod, sidecar), { message: /listen\.host: must be loopback/ })
})
