/**
 * The periodic clustering job: k-means over every live profile's features (RFM, orders, price
 * tier, category affinity, engagement; standard-scaled), each cluster kept as an ordinary
 * segment `cluster.<job>.<i>` whose condition is `{ "cluster": job, "index": i }` and whose name
 * describes its centroid; profiles are assigned through the evaluator, so entries and exits flow
 * through `segments.membership` like any other. Cluster numbers are kept stable across runs
 * (new centroids matched to the previous ones). One instance runs it at a time (a lease).
 */
import {
  clusterSegmentKey,
  describeCentroid,
  extractFeatures,
  featureNames,
  fitScaler,
  kmeans,
  matchClusters,
  relabelClusters,
  scale,
  stableClusterOrder,
  topCategories,
  unscale,
  type ClusterProfile,
  type SegmentDefinition,
} from '@mosaic/segmentation-domain';
import {
  SegmentProfilesRepository,
  type ClusteringRunDocument,
  type ClusteringRunsRepository,
  type ClusterSummary,
  type PlanCache,
  type SegmentDefinitionsRepository,
} from '@mosaic/segmentation-data-access';
import type { SegmentEvaluator } from './segment-evaluator';

export interface ClusteringJobOptions {
  runs: ClusteringRunsRepository;
  store: SegmentProfilesRepository;
  evaluator: SegmentEvaluator;
  definitions: SegmentDefinitionsRepository;
  plans: PlanCache;
  instanceId: string;
  /** Job name (segment keys `cluster.<job>.<i>`); default `kmeans`. */
  job?: string;
  k: number;
  /** Categories with an affinity feature (the most popular ones); default 5. */
  categories?: number;
  seed?: number;
  leaseMs?: number;
  clock?: () => number;
}

export interface ClusteringRun {
  ran: boolean;
  profiles: number;
  clusters: ClusterSummary[];
  changed: number;
  published: number;
  iterations?: number;
}

export class ClusteringJob {
  readonly job: string;

  constructor(private readonly opts: ClusteringJobOptions) {
    this.job = opts.job ?? 'kmeans';
  }

  private get id(): string {
    return `job:cluster:${this.job}`;
  }

  /** The last run's clusters. */
  async last(): Promise<ClusterSummary[]> {
    return (await this.opts.runs.find(this.id))?.summary ?? [];
  }

  async runOnce(): Promise<ClusteringRun> {
    const clock = this.opts.clock ?? Date.now;
    const now = clock();
    const held = await this.opts.runs.find(this.id);
    if (held && held.holder !== this.opts.instanceId && held.leaseUntil.getTime() > now)
      return { ran: false, profiles: 0, clusters: [], changed: 0, published: 0 };
    const leaseMs = this.opts.leaseMs ?? 600_000;
    await this.opts.runs.hold(this.id, this.opts.instanceId, new Date(now + leaseMs));
    try {
      return await this.run(held, now);
    } finally {
      await this.opts.runs.release(this.id, this.opts.instanceId);
    }
  }

  private async run(previous: ClusteringRunDocument | null, now: number): Promise<ClusteringRun> {
    const ids: string[] = [];
    const profiles: ClusterProfile[] = [];
    for await (const page of this.opts.store.scan(1000)) {
      for (const d of page) {
        if (d.mergedInto) continue;
        const state = SegmentProfilesRepository.parse(d, d._id).state;
        if (!state.profile) continue;
        ids.push(d._id);
        profiles.push({ traits: state.profile.traits, computed: state.profile.computed });
      }
    }
    const k = this.opts.k;
    if (profiles.length < k) return { ran: false, profiles: profiles.length, clusters: [], changed: 0, published: 0 };
    const categories = topCategories(profiles, this.opts.categories ?? 5);
    const names = featureNames(categories);
    const raw = profiles.map((p) => extractFeatures(p, { now, categories }));
    const scaler = fitScaler(raw);
    const rows = raw.map((r) => scale(r, scaler));
    let result = kmeans(rows, { k, seed: this.opts.seed ?? 42 });
    const prevCentroids = previous?.centroids ? (JSON.parse(previous.centroids) as number[][]) : undefined;
    const sameFeatures =
      prevCentroids && previous?.names && previous.names.join('\u0000') === names.join('\u0000') && prevCentroids.length === result.centroids.length;
    const labels = sameFeatures
      ? matchClusters(
          prevCentroids.map((c) => scale(c, scaler)),
          result.centroids,
        )
      : stableClusterOrder(result.centroids, names);
    result = relabelClusters(result, labels);
    const sizes = new Array<number>(result.centroids.length).fill(0);
    for (const a of result.assignments) sizes[a] = (sizes[a] ?? 0) + 1;
    const clusters: ClusterSummary[] = result.centroids.map((c, i) => ({
      key: clusterSegmentKey(this.job, i),
      index: i,
      size: sizes[i] ?? 0,
      description: describeCentroid(c, names, scaler),
    }));
    await this.saveSegments(clusters);
    await this.opts.plans.reload();
    const assignments = new Map(ids.map((id, i) => [id, result.assignments[i] as number]));
    const applied = await this.opts.evaluator.assignClusters(this.job, assignments);
    await this.opts.runs.saveResult(this.id, { names, centroids: result.centroids.map((c) => unscale(c, scaler)), at: new Date(now), summary: clusters });
    return { ran: true, profiles: profiles.length, clusters, changed: applied.changed, published: applied.published, iterations: result.iterations };
  }

  /** One active segment per cluster (created or updated when its description changed); extra ones from a larger k are disabled. */
  private async saveSegments(clusters: readonly ClusterSummary[]): Promise<void> {
    const existing = new Map((await this.opts.definitions.list()).filter((s) => s.key.startsWith(`cluster.${this.job}.`)).map((s) => [s.key, s]));
    for (const c of clusters) {
      const definition: SegmentDefinition = {
        key: c.key,
        name: `${this.job} cluster ${c.index}: ${c.description}`,
        description: `k-means cluster ${c.index} of the ${this.job} job: ${c.description}`,
        condition: { cluster: this.job, index: c.index },
      };
      const held = existing.get(c.key);
      existing.delete(c.key);
      if (!held) await this.opts.definitions.create(definition, `clustering:${this.job}`);
      else if (JSON.stringify(held.definition) !== JSON.stringify(definition) || held.status !== 'active')
        await this.opts.definitions.update(c.key, { definition, status: 'active' }, `clustering:${this.job}`);
    }
    for (const [key, s] of existing) if (s.status === 'active') await this.opts.definitions.update(key, { status: 'disabled' }, `clustering:${this.job}`);
  }
}
