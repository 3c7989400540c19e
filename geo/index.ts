// Public surface of geo/: pure geometry helpers shared by the web app, the ingest service and the importers.

export { VillageIndex, compareVillageIds, validateBoundary } from './point-in-polygon';
export type { Boundary, VillageBoundary, VillageId } from './point-in-polygon';
export { bbox, bboxRect } from './bbox';
export type { Bbox, BboxInput, Rect } from './bbox';
export { labelPoint } from './label-point';
export { GK_ZONES, crsFromPrj, crsLabel, gkZone, guessCrsFromCoordinates, isCrsId, toWgs84 } from './crs';
export type { CrsGuess, CrsId, GkZone } from './crs';
export { CODE_KEYS, ImportError, MAX_IMPORT_BYTES, NAME_KEYS, importBoundaries, parseBoundaryFile } from './import';
export type { CrsChoice, ImportResult, ImportedVillage, KnownFeatures } from './import';
export { IMPORT_LIMITS, SIMPLIFY_HINT, limitLines } from './limits';
export { selfIntersections } from './self-intersections';
export { gcj02Hint, offsetFit } from './gcj02-hint';
export type { Gcj02Hint } from './gcj02-hint';
export { hasErrors, importReport } from './import-report';
export type { ReportItem, ReportVillage } from './import-report';
export { snapToBoundaries } from './snap';
