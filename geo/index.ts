// Public surface of geo/: pure geometry helpers shared by the web app, the ingest service and the importers.

export { VillageIndex, compareVillageIds, validateBoundary } from './point-in-polygon';
export type { Boundary, VillageBoundary, VillageId } from './point-in-polygon';
export { labelPoint } from './label-point';
