package githubtest

import (
	"encoding/json"
	"time"
)

// state is the emulator's memory; guarded by Server.mu.
type state struct {
	nextID int64
	users  map[string]int64 // login → id
	repos  map[string]*repo // "owner/name" → repo
	teams  map[string]map[string]string
	jit    []JITConfig
}

func newState() *state {
	return &state{nextID: 1000, users: map[string]int64{}, repos: map[string]*repo{}, teams: map[string]map[string]string{}}
}

func (st *state) id() int64 { st.nextID++; return st.nextID }

func (st *state) userID(login string) int64 {
	if id, ok := st.users[login]; ok {
		return id
	}
	id := st.id()
	st.users[login] = id
	return id
}

type repo struct {
	id          int64
	owner, name string
	created     time.Time
	nextNumber  int
	issues      map[int]*Issue // issue numbers, pull requests included
	labels      []*Label
	dispatches  []Dispatch
	// workflows take workflow_dispatch when workflowsSet (SetWorkflows).
	workflows    []string
	workflowsSet bool
	attests      []*Attestation
	comments     []*Comment
	checkRuns    []*CheckRun
	statuses     []*CommitStatus
	deployments  []*Deployment
	pulls        map[int]*PullRequest
	reviews      map[int][]*Review
	runners      []*JITConfig
	heads        map[string]string // branch → head SHA
}

// Issue is an issue. A pull request also has one (its number, its labels);
// its title, body and state live in the PullRequest.
type Issue struct {
	Number      int
	ID          int64
	Title       string
	Body        string
	User        string
	State       string // open, closed
	StateReason string // completed, not_planned, reopened, duplicate, or ""
	Labels      []string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ClosedAt    time.Time
	ClosedBy    string
	isPull      bool
}

// Label is a repository label.
type Label struct {
	ID          int64
	Name        string
	Color       string
	Description string
}

// Dispatch is a recorded workflow_dispatch event.
type Dispatch struct {
	// Workflow is the workflow_id as sent: a file name or a number.
	Workflow         string
	Ref              string
	Inputs           map[string]any
	ReturnRunDetails bool
	CreatedAt        time.Time
}

// Attestation is a stored artifact attestation.
type Attestation struct {
	ID int64
	// Subjects are the digests it is filed under, "sha256:<hex>".
	Subjects []string
	// PredicateType is the in-toto statement's; "" for a message signature.
	PredicateType string
	Bundle        []byte
	CreatedAt     time.Time
}

func (st *state) repo(owner, name string, now time.Time) *repo {
	key := owner + "/" + name
	if r, ok := st.repos[key]; ok {
		return r
	}
	r := &repo{id: st.id(), owner: owner, name: name, created: now, issues: map[int]*Issue{}, pulls: map[int]*PullRequest{}, reviews: map[int][]*Review{}, heads: map[string]string{}}
	st.userID(owner)
	st.repos[key] = r
	return r
}

func (r *repo) newNumber() int { r.nextNumber++; return r.nextNumber }

// branchSHA returns a branch's head, inventing a stable one for a branch
// never seen (so "main" always resolves).
func (r *repo) branchSHA(branch string) string {
	if sha, ok := r.heads[branch]; ok {
		return sha
	}
	sha := fakeSHA(r.owner + "/" + r.name + "@" + branch)
	r.heads[branch] = sha
	return sha
}

// Comment is an issue or pull request comment.
type Comment struct {
	ID        int64
	Issue     int
	User      string
	Body      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// CheckRun is a check run with all the output it received, annotations
// accumulated across updates as GitHub does.
type CheckRun struct {
	ID          int64
	Name        string
	HeadSHA     string
	Status      string
	Conclusion  string
	ExternalID  string
	DetailsURL  string
	StartedAt   time.Time
	CompletedAt time.Time
	Title       string
	Summary     string
	Text        string
	Annotations []Annotation
	// Requests counts create and update requests for this run.
	Requests int
	// MaxAnnotationsPerRequest is the largest number of annotations one
	// request carried (GitHub refuses more than 50).
	MaxAnnotationsPerRequest int
}

// Annotation is a check-run annotation as sent by the client.
type Annotation struct {
	Path            string `json:"path"`
	StartLine       int    `json:"start_line"`
	EndLine         int    `json:"end_line"`
	StartColumn     *int   `json:"start_column,omitempty"`
	EndColumn       *int   `json:"end_column,omitempty"`
	AnnotationLevel string `json:"annotation_level"`
	Message         string `json:"message"`
	Title           string `json:"title,omitempty"`
	RawDetails      string `json:"raw_details,omitempty"`
}

// CommitStatus is a commit status.
type CommitStatus struct {
	ID          int64
	SHA         string
	State       string
	TargetURL   string
	Description string
	Context     string
	Creator     string
	CreatedAt   time.Time
}

// Deployment is a deployment with its statuses, oldest first.
type Deployment struct {
	ID                    int64
	SHA                   string
	Ref                   string
	Task                  string
	Environment           string
	Description           string
	Payload               json.RawMessage
	Creator               string
	TransientEnvironment  bool
	ProductionEnvironment bool
	CreatedAt             time.Time
	UpdatedAt             time.Time
	Statuses              []DeploymentStatus
}

// DeploymentStatus is one status of a deployment.
type DeploymentStatus struct {
	ID             int64
	State          string
	Description    string
	Environment    string
	LogURL         string
	EnvironmentURL string
	Creator        string
	CreatedAt      time.Time
}

// PullRequest is a pull request. Head and Base are branch names.
type PullRequest struct {
	Number    int
	ID        int64
	Title     string
	Body      string
	User      string
	State     string // open, closed
	Head      string
	HeadSHA   string
	Base      string
	BaseSHA   string
	Draft     bool
	Merged    bool
	MergedBy  string
	MergeSHA  string // merge commit SHA once merged
	CreatedAt time.Time
	UpdatedAt time.Time
	ClosedAt  time.Time
	MergedAt  time.Time
}

// Review is a pull request review.
type Review struct {
	ID          int64
	User        string
	State       string // APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING
	Body        string
	CommitID    string
	SubmittedAt time.Time
}

// JITConfig records a generated just-in-time runner configuration.
type JITConfig struct {
	Owner, Repo   string
	RunnerID      int64
	Name          string
	Labels        []string
	RunnerGroupID int64
	WorkFolder    string
	EncodedConfig string
}
