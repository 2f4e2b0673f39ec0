/**
 * Clustering-based segments, the pure part: numeric features of a compact profile (as carried
 * on `profiles.changes`), standard scaling, seeded k-means (k-means++ start, Lloyd
 * iterations), readable descriptions of clusters, segment keys and stable cluster numbering
 * across runs.
 *
 * No I/O, no clock, no `Math.random`: `now` and the `seed` are passed in, so the same input
 * always gives the same clusters.
 */
export { affinityScores, extractFeatures, featureNames, topCategories } from './clustering-features';
export type { ClusterProfile, FeatureOptions } from './clustering-features';
export { fitScaler, scale, unscale } from './clustering-scaling';
export type { Scaler } from './clustering-scaling';
export { assign, kmeans, mulberry32 } from './kmeans';
export type { KMeansOptions, KMeansResult } from './kmeans';
export { clusterSegmentKey, describeCentroid, featurePhrase, matchClusters, relabelClusters, stableClusterOrder } from './clustering-labels';
export type { DescribeOptions } from './clustering-labels';
