// Public surface of the monitoring statistics: drift per feature, the decision policy, projections,
// streaming accumulators and the drift report. Activities, the CLI and stage-4 triggers import here.
export * from './numeric-drift';
export * from './categorical-drift';
export * from './thresholds';
export * from './projections';
export * from './streaming';
export * from './drift-report';
export { kolmogorovSf, smirnovSf } from './kolmogorov';
export { chiSquareSf } from './special-functions';
