package githubtest

import (
	"fmt"
	"net/http"
	"strings"
)

// teams.

func teamKey(org, team string) string { return strings.ToLower(org) + "/" + strings.ToLower(team) }

func getTeamMembership(c *call) {
	members := c.s.st.teams[teamKey(c.params["org"], c.params["team_slug"])]
	role, ok := members[strings.ToLower(c.params["username"])]
	if !ok {
		c.notFound()
		return
	}
	c.json(http.StatusOK, obj{"url": c.s.membershipURL(c.params["org"], c.params["team_slug"], c.params["username"]), "role": role, "state": "active"})
}

func (s *Server) membershipURL(org, team, user string) string {
	return fmt.Sprintf("%s/organizations/%d/team/%d/memberships/%s", s.api(), s.st.userID(org), s.st.userID(org+"/"+team), user)
}

func putTeamMembership(c *call) {
	var in struct {
		Role string `json:"role"`
	}
	if len(c.body) > 0 && !c.decode(&in) {
		return
	}
	if in.Role == "" {
		in.Role = "member"
	}
	c.s.addTeamMember(c.params["org"], c.params["team_slug"], c.params["username"], in.Role)
	c.json(http.StatusOK, obj{"url": c.s.membershipURL(c.params["org"], c.params["team_slug"], c.params["username"]), "role": in.Role, "state": "active"})
}

func deleteTeamMembership(c *call) {
	members := c.s.st.teams[teamKey(c.params["org"], c.params["team_slug"])]
	delete(members, strings.ToLower(c.params["username"]))
	c.noContent()
}

func (s *Server) addTeamMember(org, team, user, role string) {
	k := teamKey(org, team)
	if s.st.teams[k] == nil {
		s.st.teams[k] = map[string]string{}
	}
	s.st.teams[k][strings.ToLower(user)] = role
}
