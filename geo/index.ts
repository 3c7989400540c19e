// Public surface of geo/: pure geometry helpers shared by the web app, the ingest service and the importers.

export { VillageIndex, compareVillageIds, validateBoundary } from './point-in-polygon';
export type { Boundary, VillageBoundary, VillageId } from './point-in-polygon';
export { labelPoint } from './label-point';
export { GK_ZONES, crsFromPrj, crsLabel, gkZone, guessCrsFromCoordinates, isCrsId, toWgs84 } from './crs';
export type { CrsGuess, CrsId, GkZone } from './crs';
export { ImportError, MAX_IMPORT_BYTES, importBoundaries, parseBoundaryFile } from './import';
export type { CrsChoice, ImportResult, ImportedVillage } from './import';
export { hasErrors, importReport } from './import-report';
export type { ReportItem, ReportVillage } from './import-report';
export { snapToBoundaries } from './snap';
