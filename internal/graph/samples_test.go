package graph

import (
	"time"

	"github.com/vigil-idp/vigil/internal/directory"
	"github.com/vigil-idp/vigil/internal/store"
)

// Sample entities for tests that render without a store.

var sampleTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func sampleUser() store.User {
	return store.User{
		ID: "6e7b768e-07e2-4810-8459-485f84f8f204", UserPrincipalName: "ada@vigil.local", DisplayName: "Ada Lovelace",
		GivenName: ptr("Ada"), Surname: ptr("Lovelace"), Mail: ptr("ada@vigil.local"), MailNickname: ptr("ada"),
		JobTitle: ptr("Analyst"), Department: ptr("Engines"), AccountEnabled: true,
		CreatedDateTime: sampleTime, SignInSessionsValidFrom: sampleTime,
	}
}

func sampleGroup() store.Group {
	return store.Group{
		ID: "45b7d2e7-b882-4a80-ba97-10b7a63b8fa4", DisplayName: "Engineers", Description: ptr("All engineers"),
		MailNickname: "engineers", SecurityEnabled: true, GroupTypes: nil, CreatedDateTime: sampleTime,
	}
}

func sampleApplication() store.Application {
	return store.Application{
		ID: "3b7d2e7b-b882-4a80-ba97-10b7a63b8fa4", AppID: "f1d2e7b8-b882-4a80-ba97-10b7a63b8fa4",
		DisplayName: "Payroll", WebRedirectURIs: []string{"https://payroll.example/cb"}, CreatedDateTime: sampleTime,
	}
}

func sampleServicePrincipal() store.ServicePrincipal {
	return store.ServicePrincipal{ID: "9d7b2e7b-b882-4a80-ba97-10b7a63b8fa4", AppID: "f1d2e7b8-b882-4a80-ba97-10b7a63b8fa4",
		DisplayName: "Payroll", CreatedDateTime: sampleTime}
}

func sampleDirectoryRole() directory.DirectoryRole {
	return directory.DirectoryRole{ID: "a1b2c3d4-0000-4000-8000-000000000001", RoleTemplateID: "62e90394-69f5-4237-9190-012177145e10",
		DisplayName: "Global Administrator", Description: "Can manage all aspects of Microsoft Entra ID."}
}
