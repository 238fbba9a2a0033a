package scaffold

// ProfileFileForTest exposes profileFile to the external tests.
const ProfileFileForTest = profileFile
