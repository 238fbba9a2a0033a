package githubtest

import (
	"net/http"
	"sort"
)

// GitHub's documented size limits, enforced as api.github.com does (422).
const (
	MaxCommentBody        = 65536
	MaxCheckRunSummary    = 65535
	MaxCheckRunText       = 65535
	MaxAnnotationsPerCall = 50
)

// handlers maps operationIds of GitHub's description to emulations. A valid
// request for an operation missing here fails the test with a pointer to
// this file.
var handlers = map[string]func(*call){
	"issues/list-comments":    listComments,
	"issues/create-comment":   createComment,
	"issues/get-comment":      getComment,
	"issues/update-comment":   updateComment,
	"issues/delete-comment":   deleteComment,
	"checks/create":           createCheckRun,
	"checks/update":           updateCheckRun,
	"checks/get":              getCheckRun,
	"checks/list-for-ref":     listCheckRunsForRef,
	"checks/list-annotations": listAnnotations,

	"repos/create-commit-status":         createCommitStatus,
	"repos/list-commit-statuses-for-ref": listCommitStatuses,
	"repos/get-combined-status-for-ref":  combinedStatus,

	"repos/create-deployment":        createDeployment,
	"repos/list-deployments":         listDeployments,
	"repos/get-deployment":           getDeployment,
	"repos/create-deployment-status": createDeploymentStatus,
	"repos/list-deployment-statuses": listDeploymentStatuses,

	"pulls/get":           getPull,
	"pulls/list":          listPulls,
	"pulls/create":        createPull,
	"pulls/update":        updatePull,
	"pulls/list-reviews":  listReviews,
	"pulls/create-review": createReview,
	"repos/list-pull-requests-associated-with-commit": pullsForCommit,

	"teams/get-membership-for-user-in-org":           getTeamMembership,
	"teams/add-or-update-membership-for-user-in-org": putTeamMembership,
	"teams/remove-membership-for-user-in-org":        deleteTeamMembership,

	"actions/generate-runner-jitconfig-for-repo": generateJITConfig,

	"repos/get": getRepo,

	"issues/create":               createIssue,
	"issues/get":                  getIssue,
	"issues/update":               updateIssue,
	"issues/list-for-repo":        listIssues,
	"issues/list-labels-for-repo": listLabels,
	"issues/get-label":            getLabel,
	"issues/create-label":         createLabel,

	"actions/create-workflow-dispatch": createWorkflowDispatch,

	"repos/create-attestation": createAttestation,
	"repos/list-attestations":  listAttestations,
	"orgs/list-attestations":   listOwnerAttestations,
	"users/list-attestations":  listOwnerAttestations,
}

// repositories (any owner/name exists, created on first use).

func getRepo(c *call) {
	r := c.repo()
	o := c.s.repository(r)
	o["network_count"] = 0
	o["subscribers_count"] = 0
	o["permissions"] = obj{"admin": false, "maintain": false, "push": true, "triage": true, "pull": true}
	c.json(http.StatusOK, o)
}

// nonNil keeps an empty list a JSON array.
func nonNil(xs []any) []any {
	if xs == nil {
		return []any{}
	}
	return xs
}

func sortedNumbers[T any](m map[int]T) []int {
	ns := make([]int, 0, len(m))
	for n := range m {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	return ns
}
