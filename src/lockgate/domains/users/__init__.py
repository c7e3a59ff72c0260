"""The people of a project: members (users), pending invites, teams and custom roles.

Other domains read people through ``lockgate.domains.users.access`` only:

- ``Member``: a user with their role and effective permission set (``frozenset`` of permission
  keys; built-in roles per ``permissions.BUILT_IN_ROLES``, Owner = Admin plus everything);
  ``Member.actor()`` is the ``Actor`` their changes are recorded under.
- ``member(session, project_id, user_id)``, ``member_by_email(...)``: a member, or None.
- ``member_of_key(session, key)``: the user a personal console key acts as (what a request
  principal carries); ``member_of_actor(session, project_id, actor)``: the user behind an actor.
- ``permissions_of(session, project_id, user_id)``, ``role_permissions(session, project_id,
  role)``: permission sets.
- ``TeamInfo`` and ``team(session, project_id, team_id)``, ``find_team(...)`` (id or name),
  ``teams_of(session, project_id, user_id)`` (member or admin), ``is_team_member(...)``,
  ``is_team_admin(...)``.

The rest of the package is the write side: ``service`` (users and invites), ``teams``,
``roles``; ``permissions`` holds the permission keys and the built-in roles
(docs/console.md §Roles).
"""
